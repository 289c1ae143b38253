/**
 * planTick micro-benchmark: the scheduler plans every due workflow with it (src/domain/catch-up.ts),
 * so its cost per on-time cron plan is the hot-path figure. Usage: node bench/plan-tick.ts
 * Prints µs per plan for an on-time hourly plan (no policy, and with a DST policy), a daily plan
 * and a 10-interval catch-up. Compare before/after a change on the same machine, side by side.
 */
import { planTick } from '../src/domain/catch-up.ts';
import { DEFAULT_SCHEDULE_POLICY, type SchedulePolicy } from '../src/domain/schedule-policy.ts';
import type { Schedule } from '../src/domain/schedule.ts';

const N = Number(process.env.N ?? 20_000);

function measure(name: string, schedule: Schedule, dueIso: string, nowIso: string): void {
  const due = new Date(dueIso);
  const now = new Date(nowIso);
  for (let i = 0; i < 2_000; i++) planTick(schedule, due, now); // warm-up (JIT, zone caches)
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) planTick(schedule, due, now);
    rounds.push(Number(process.hrtime.bigint() - start) / 1_000 / N);
  }
  rounds.sort((a, b) => a - b);
  console.log(`${name.padEnd(44)} median ${rounds[2]!.toFixed(1)} µs/plan (min ${rounds[0]!.toFixed(1)})`);
}

const dst: SchedulePolicy = { ...DEFAULT_SCHEDULE_POLICY, dst: { gap: 'SKIP', overlap: 'FIRST' } };
const hourly: Schedule = { type: 'cron', cron: '0 * * * *', timezone: 'Europe/Berlin' };
measure(
  'on-time hourly, Europe/Berlin, no policy',
  hourly,
  '2027-06-01T10:00:00Z',
  '2027-06-01T10:00:00.300Z',
);
measure(
  'on-time hourly, Europe/Berlin, dst policy',
  { ...hourly, policy: dst },
  '2027-06-01T10:00:00Z',
  '2027-06-01T10:00:00.300Z',
);
measure(
  'on-time daily, America/New_York',
  { type: 'cron', cron: '30 2 * * *', timezone: 'America/New_York' },
  '2027-06-01T06:30:00Z',
  '2027-06-01T06:30:00.300Z',
);
measure(
  'on-time every 5 min, UTC',
  { type: 'cron', cron: '*/5 * * * *', timezone: 'UTC' },
  '2027-06-01T10:00:00Z',
  '2027-06-01T10:00:00.300Z',
);
measure(
  'hourly after 10 missed hours, Europe/Berlin',
  hourly,
  '2027-06-01T00:00:00Z',
  '2027-06-01T10:00:00.300Z',
);

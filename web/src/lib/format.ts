import type { ScheduleView } from '../api/types.ts';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** A timestamp in the viewer's locale and zone; '—' for none. */
export function formatDateTime(value: string | Date | null | undefined): string {
  if (!value) return '—';
  const date = typeof value === 'string' ? new Date(value) : value;
  return Number.isNaN(date.getTime()) ? '—' : dateTime.format(date);
}

export function describeSchedule(schedule: ScheduleView): string {
  switch (schedule.type) {
    case 'interval': {
      const m = schedule.interval_minutes;
      if (m % 1440 === 0) return `every ${m / 1440} day${m === 1440 ? '' : 's'}`;
      if (m % 60 === 0) return `every ${m / 60} hour${m === 60 ? '' : 's'}`;
      return `every ${m} minute${m === 1 ? '' : 's'}`;
    }
    case 'cron':
      return `cron ${schedule.cron} (${schedule.timezone})`;
    case 'once':
      return `once at ${formatDateTime(schedule.run_at)}`;
  }
}

/** A fresh key per user action (Idempotency-Key): a double click or a retry does not run twice. */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}

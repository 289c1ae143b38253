/**
 * The notification channels' consumers per batch (issue 14: a workflow's other subscribers) on
 * the local PostgreSQL:
 *
 *   node bench/notification-consumers.ts [subscribers=0] [batches=200] [batchSize=100]
 *
 * One owner with 10 workflows (preference ALL; an all-workflows EMAIL subscription to job.failed),
 * `subscribers` other users each subscribed by an administrator to every one of those workflows on
 * IN_APP (job.completed), EMAIL (job.failed) and WEBHOOK (one endpoint each, job.completed). Then
 * `batches` batches of `batchSize` distinct COMPLETED job facts spread over the 10 workflows, each
 * handled by the real NotificationsConsumer, EmailConsumer and WebhookConsumer in turn: ms per batch
 * (p50, p99) per consumer and the rows made. With 0 subscribers it measures what the recipient
 * lookup costs an installation that has none (compare with the commit before it).
 *
 * Environment: BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres; a database
 * cv_bench_notify_<pid> is created and dropped). Prints its figures; asserts nothing.
 */
import pg from 'pg';
import { InProcessBus, type BusMessage } from '../src/platform/bus/bus.ts';
import { systemClock } from '../src/platform/clock.ts';
import { openDatabase } from '../src/platform/db/database.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { Events } from '../src/platform/events.ts';
import { newId } from '../src/platform/ids.ts';
import { createLogger } from '../src/platform/logger.ts';
import { EmailConsumer } from '../src/workers/email/consumer.ts';
import { NotificationsConsumer } from '../src/workers/notifications/consumer.ts';
import { WebhookConsumer } from '../src/workers/webhooks/consumer.ts';

const [subscribersArg, batchesArg, sizeArg] = process.argv.slice(2);
const SUBSCRIBERS = Number(subscribersArg ?? 0);
const BATCHES = Number(batchesArg ?? 200);
const SIZE = Number(sizeArg ?? 100);
const adminUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `cv_bench_notify_${process.pid}`;

async function withAdmin(query: string) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(query);
  await c.end();
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

await withAdmin(`create database ${dbName}`);
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;
const database = await openDatabase({ url: url.toString(), dataDir: '', poolSize: 10 });
try {
  await migrate(database.db);
  const db = database.db;
  const user = async (preference: 'ALL' | 'ALERTS') => {
    const id = newId();
    await db
      .insertInto('users')
      .values({
        id,
        email: `${id}@example.com`,
        password_hash: 'x',
        role: 'user',
        notification_preference: preference,
      })
      .execute();
    return id;
  };
  const owner = await user('ALL');
  const workflows: string[] = [];
  for (let i = 0; i < 10; i++) {
    const id = newId();
    await db
      .insertInto('workflows')
      .values({
        id,
        user_id: owner,
        name: `w${i}`,
        kind: 'HEARTBEAT',
        payload: JSON.stringify({ endpoint: 'http://127.0.0.1:9/' }),
        schedule_type: 'interval',
        interval_minutes: 60,
        max_consecutive_job_failures_allowed: 3,
        log_retention: false,
        next_run_at: null,
      })
      .execute();
    workflows.push(id);
  }
  const now = new Date();
  const sub = (
    userId: string,
    workflowId: string | null,
    channel: 'IN_APP' | 'EMAIL' | 'WEBHOOK',
    events: string[],
    target: string | null = null,
  ) => ({
    id: newId(),
    user_id: userId,
    workflow_id: workflowId,
    channel,
    target,
    events,
    created_at: now,
    updated_at: now,
  });
  await db
    .insertInto('notification_subscriptions')
    .values(sub(owner, null, 'EMAIL', ['job.failed']))
    .execute();
  for (let s = 0; s < SUBSCRIBERS; s++) {
    const id = await user('ALERTS');
    const hook = newId();
    await db
      .insertInto('webhooks')
      .values({
        id: hook,
        user_id: id,
        url: 'http://127.0.0.1:9/hook',
        secret: 'whsec_0123456789abcdef0123456789abcdef',
        event_types: ['*'],
        description: null,
      })
      .execute();
    await db
      .insertInto('notification_subscriptions')
      .values(
        workflows.flatMap((w) => [
          sub(id, w, 'IN_APP', ['job.completed']),
          sub(id, w, 'EMAIL', ['job.failed']),
          sub(id, w, 'WEBHOOK', ['job.completed'], hook),
        ]),
      )
      .execute();
  }

  const deps = {
    db,
    clock: systemClock,
    events: new Events(),
    logger: createLogger('silent'),
    bus: new InProcessBus(),
  };
  const consumers = {
    notifications: new NotificationsConsumer(deps),
    emails: new EmailConsumer(deps, { publicUrl: 'https://cv.example.com' }),
    webhooks: new WebhookConsumer(deps),
  };
  const times: Record<keyof typeof consumers, number[]> = { notifications: [], emails: [], webhooks: [] };
  const made: Record<keyof typeof consumers, number> = { notifications: 0, emails: 0, webhooks: 0 };
  for (let b = 0; b < BATCHES; b++) {
    const batch: BusMessage[] = Array.from({ length: SIZE }, (_, i) => {
      const workflowId = workflows[i % workflows.length]!;
      const payload = {
        job_id: newId(),
        workflow_id: workflowId,
        user_id: owner,
        generation: 1,
        status: 'COMPLETED',
        trigger: 'AUTOMATIC',
        attempts: 1,
        scheduled_at: now.toISOString(),
        started_at: now.toISOString(),
        completed_at: now.toISOString(),
        exit_code: null,
        http_status_code: 200,
        error_code: null,
        error_message: null,
        log_lines: 0,
        bulk: false,
      };
      return { id: newId(), topic: 'analytics', key: workflowId, type: 'JOB_FINISHED', payload };
    });
    for (const name of ['notifications', 'emails', 'webhooks'] as const) {
      const started = performance.now();
      made[name] += await consumers[name].handle(batch);
      times[name].push(performance.now() - started);
    }
  }
  console.log(`subscribers=${SUBSCRIBERS} batches=${BATCHES} batchSize=${SIZE}`);
  for (const name of ['notifications', 'emails', 'webhooks'] as const) {
    const sorted = times[name].slice(Math.floor(BATCHES / 10)).sort((a, b) => a - b);
    console.log(
      `${name.padEnd(14)} p50 ${percentile(sorted, 50).toFixed(2)} ms  p99 ${percentile(sorted, 99).toFixed(2)} ms per batch  rows ${made[name]}`,
    );
  }
} finally {
  await database.close();
  await withAdmin(`drop database if exists ${dbName} with (force)`);
}

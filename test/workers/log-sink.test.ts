import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { ensureJobLogPartitions } from '../../src/platform/db/migrate.ts';
import { InMemoryLiveLogs, type LiveLogLine } from '../../src/platform/live-logs.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { JobLogWriter } from '../../src/workers/executor/log-sink.ts';
import { insertManualJob, insertUser, insertWorkflows } from '../helpers/fixtures.ts';
import { createTestDatabase } from '../helpers/harness.ts';

describe('JobLogWriter', () => {
  let database: Database;
  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    await ensureJobLogPartitions(database.db);
  });
  afterAll(() => database.close());

  it('asks the producer to wait above the high-water mark, then stores every line in order', async () => {
    const userId = await insertUser(database.db);
    const [wf] = await insertWorkflows(database.db, [
      { userId, kind: 'CONTAINER', payload: { image: 'x' }, nextRunAt: null },
    ]);
    const jobId = await insertManualJob(database, wf!, userId);
    const live = new InMemoryLiveLogs();
    const seen: LiveLogLine[] = [];
    live.subscribe(jobId, (lines) => seen.push(...lines));
    const writer = new JobLogWriter(
      { db: database.db, live, logger: createLogger('silent') },
      { id: jobId, workflowId: wf!, attempt: 1, retain: true },
      { highWaterLines: 2_000, maxBatchLines: 500 },
    );
    const lines = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        stream: 'stdout' as const,
        timestamp: new Date(),
        message: `line ${from + i}`,
      }));
    expect(writer.write(lines(0, 100))).toBeUndefined();
    const wait = writer.write(lines(100, 5_000));
    expect(wait).toBeInstanceOf(Promise);
    await wait;
    await writer.flush();
    const { rows } = await sql<{ sequence_num: number; message: string }>`
      select sequence_num, message from job_logs where job_id = ${jobId} order by sequence_num`.execute(
      database.db,
    );
    expect(rows).toHaveLength(5_100);
    expect(rows.every((r, i) => r.sequence_num === i && r.message === `line ${i}`)).toBe(true);
    expect(seen.map((l) => l.sequence_num)).toEqual(rows.map((r) => r.sequence_num));
  });
});

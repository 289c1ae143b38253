/**
 * Lease renewal never runs twice at once: while one renewal waits on the database, another call
 * resolves with it instead of sending a second UPDATE beside it. The renewal's statement is held
 * by a Kysely plugin until the test lets it go, so nothing here depends on timing.
 */
import type { KyselyPlugin, QueryId, RootOperationNode } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessBus } from '../../src/platform/bus/bus.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { Events } from '../../src/platform/events.ts';
import { InMemoryLiveLogs } from '../../src/platform/live-logs.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { OutboundGuard } from '../../src/platform/outbound/guard.ts';
import { Executor } from '../../src/workers/executor/executor.ts';
import { FAST_EXECUTOR, startTarget } from '../helpers/engine.ts';
import { insertManualJob, insertUser, insertWorkflows, waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES } from '../helpers/harness.ts';
import { loopbackOnlyBlockList } from '../helpers/loopback-only.ts';

/** Counts renewal statements and holds their results until `release()`. */
class HoldRenewals implements KyselyPlugin {
  sent = 0;
  readonly #ids = new WeakSet<QueryId>();
  #gate: Promise<void> = Promise.resolve();
  #open: () => void = () => {};

  hold(): void {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
  }

  release(): void {
    this.#open();
  }

  transformQuery(args: { node: RootOperationNode; queryId: QueryId }): RootOperationNode {
    const node = args.node as { kind: string; sqlFragments?: readonly string[] };
    const text = node.kind === 'RawNode' ? (node.sqlFragments ?? []).join('?') : '';
    if (
      text.includes('UPDATE jobs SET lease_expires_at') &&
      text.includes("status = 'RUNNING' AND lease_owner")
    ) {
      this.sent += 1;
      this.#ids.add(args.queryId);
    }
    return args.node;
  }

  async transformResult<R>(args: { result: R; queryId: QueryId }): Promise<R> {
    if (this.#ids.has(args.queryId)) await this.#gate;
    return args.result;
  }
}

describe.each(ENGINES)('executor lease renewal (%s)', (engineName) => {
  let database: Database;
  let target: Awaited<ReturnType<typeof startTarget>>;

  beforeAll(async () => {
    database = await createTestDatabase(engineName);
    target = await startTarget();
  });
  afterAll(async () => {
    await target?.close();
    await database?.close();
  });

  it('a slow renewal is not run twice concurrently', async () => {
    const renewals = new HoldRenewals();
    const events = new Events();
    const executor = new Executor(
      {
        db: database.db.withPlugin(renewals),
        events,
        logger: createLogger('silent'),
        bus: new InProcessBus(),
        live: new InMemoryLiveLogs(),
        containers: null,
        outbound: new OutboundGuard({ allowPrivateNetworks: true, blockList: loopbackOnlyBlockList() }),
      },
      // The loop's own renewals are far apart: only the test's calls renew here.
      { ...FAST_EXECUTOR, leaseMs: 120_000, renewIntervalMs: 60_000, softStopMs: 100 },
    );
    const userId = await insertUser(database.db);
    const [wf] = await insertWorkflows(database.db, [
      {
        userId,
        payload: {
          endpoint: `${target.url}/hang`,
          method: 'GET',
          headers: {},
          body: null,
          expected_status_code: 200,
          timeout: '60s',
        },
        nextRunAt: null,
      },
    ]);
    const jobId = await insertManualJob(database, wf!, userId);
    executor.start();
    try {
      events.emit('jobs:runnable', { count: 1 });
      await waitFor(async () => executor.runningJobIds.includes(jobId));
      const before = renewals.sent;

      renewals.hold();
      const first = executor.renewLeases();
      await waitFor(async () => renewals.sent === before + 1); // the UPDATE went out and waits
      const second = executor.renewLeases();
      expect(second).toBe(first); // the same renewal, not a second one
      renewals.release();
      await Promise.all([first, second]);
      expect(renewals.sent).toBe(before + 1);
      expect(executor.runningJobIds).toEqual([jobId]); // the lease is still ours

      // Once it finished, the next call renews again.
      await executor.renewLeases();
      expect(renewals.sent).toBe(before + 2);
    } finally {
      renewals.release();
      await executor.stop();
    }
    expect(executor.runningJobIds).toEqual([]);
  });
});

/**
 * The container quota in the executor's claim (src/workers/executor/sql.ts `jobsClaim`) on real
 * databases: a user's CONTAINER jobs beyond max_concurrent_containers stay queued while everything
 * else is claimed, a full user's backlog never fills a batch, per-user values and the administrator
 * exemption, slots, and a user another executor is claiming for.
 */
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/platform/db/database.ts';
import { newId } from '../../src/platform/ids.ts';
import { jobsClaim } from '../../src/workers/executor/sql.ts';
import { insertUser, insertWorkflows, snapshotOf } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINES } from '../helpers/harness.ts';
import { databaseUrl } from '../helpers/postgres.ts';

const CONTAINER = { image: 'localhost/chronoverse-test:latest', cmd: ['true'] };
const QUOTA = { maxConcurrentContainers: 2 };

describe.each(ENGINES)('container quota in the claim (%s)', (engineName) => {
  let database: Database;
  let minute = 0;

  beforeAll(async () => {
    database = await createTestDatabase(engineName);
  });
  afterAll(() => database.close());
  beforeEach(async () => {
    await database.db.deleteFrom('jobs').execute();
  });

  /** One PENDING job on each of `count` new workflows of `userId`, due in the order made. */
  async function queue(userId: string, kind: 'CONTAINER' | 'HEARTBEAT', count: number): Promise<string[]> {
    const workflows = await insertWorkflows(
      database.db,
      Array.from({ length: count }, () => ({
        userId,
        kind,
        ...(kind === 'CONTAINER' ? { payload: CONTAINER } : {}),
        nextRunAt: null,
      })),
    );
    const ids = workflows.map(() => newId());
    await database.db
      .insertInto('jobs')
      .values(
        workflows.map((workflowId, i) => {
          minute += 1;
          return {
            id: ids[i]!,
            workflow_id: workflowId,
            user_id: userId,
            workflow_generation: 1,
            ...snapshotOf(workflowId),
            trigger: 'MANUAL' as const,
            // Due, each after the previous, all in the past.
            scheduled_at: new Date(Date.UTC(2020, 0, 1) + minute * 60_000),
          };
        }),
      )
      .execute();
    return ids;
  }

  const claim = (limit = 50, quotas = QUOTA) =>
    jobsClaim(database.db, 'executor-a', limit, 60_000, [], quotas);

  async function finish(ids: string[]): Promise<void> {
    await database.db
      .updateTable('jobs')
      .set({ status: 'COMPLETED', completed_at: new Date(), lease_owner: null, lease_expires_at: null })
      .where('id', 'in', ids)
      .execute();
  }

  async function admin(): Promise<string> {
    const id = await insertUser(database.db);
    await database.db.updateTable('users').set({ role: 'admin' }).where('id', '=', id).execute();
    return id;
  }

  describe('slots per kind (heartbeats and containers counted apart)', () => {
    const NO_QUOTA = { maxConcurrentContainers: 0 };
    const kinds = (limit: { heartbeat: number; container: number }) =>
      jobsClaim(database.db, 'executor-a', limit, 60_000, [], NO_QUOTA);

    it('admits up to the free slots of each kind; candidates beyond them stay queued and are counted as overflow', async () => {
      const a = await insertUser(database.db);
      const containers = await queue(a, 'CONTAINER', 4);
      const heartbeats = await queue(a, 'HEARTBEAT', 4);
      // A batch of 3 + 1 candidates in due order is the 4 containers: one fits, 3 overflow.
      const first = await kinds({ heartbeat: 3, container: 1 });
      expect(first.map((j) => j.id)).toEqual([containers[0]]);
      expect(first.overflow).toBe(3);
      expect(first.passedOver).toBe(0);
      // The executor claims again at once (claimOnce), its container slots now full: the scan
      // leaves containers out and reaches the heartbeats behind them.
      const second = await kinds({ heartbeat: 3, container: 0 });
      expect(second.map((j) => j.id).sort()).toEqual(heartbeats.slice(0, 3).sort());
      expect(second.overflow).toBe(0);
      const queued = await database.db
        .selectFrom('jobs')
        .select('id')
        .where('status', '=', 'PENDING')
        .execute();
      expect(queued.map((q) => q.id).sort()).toEqual([...containers.slice(1), heartbeats[3]].sort());
    });

    it('fills both kinds in one batch when the candidates mix', async () => {
      const a = await insertUser(database.db);
      const c1 = await queue(a, 'CONTAINER', 1);
      const h = await queue(a, 'HEARTBEAT', 2);
      const c2 = await queue(a, 'CONTAINER', 1);
      const claimed = await kinds({ heartbeat: 2, container: 2 });
      expect(claimed.map((j) => j.id).sort()).toEqual([...c1, ...h, ...c2].sort());
      expect(claimed.overflow).toBe(0);
    });

    it("leaves a full kind out of the scan, so its backlog never fills the batch ahead of the other kind's jobs", async () => {
      const a = await insertUser(database.db);
      await queue(a, 'CONTAINER', 30);
      const heartbeats = await queue(a, 'HEARTBEAT', 2);
      // No container slot free: the 30 earlier containers are not candidates at all.
      const claimed = await kinds({ heartbeat: 2, container: 0 });
      expect(claimed.map((j) => j.id).sort()).toEqual([...heartbeats].sort());
      expect(claimed.overflow).toBe(0);
    });

    it('claims only containers when no heartbeat slot is free', async () => {
      const a = await insertUser(database.db);
      await queue(a, 'HEARTBEAT', 5);
      const containers = await queue(a, 'CONTAINER', 2);
      const claimed = await kinds({ heartbeat: 0, container: 4 });
      expect(claimed.map((j) => j.id).sort()).toEqual([...containers].sort());
      expect(claimed.every((j) => j.kind === 'CONTAINER')).toBe(true);
    });

    it('claims nothing with no free slot of either kind', async () => {
      const a = await insertUser(database.db);
      await queue(a, 'HEARTBEAT', 2);
      expect(await kinds({ heartbeat: 0, container: 0 })).toHaveLength(0);
    });
  });

  it("leaves a user's CONTAINER jobs beyond the quota queued and claims everything else in the same batch", async () => {
    const a = await insertUser(database.db);
    const b = await insertUser(database.db);
    const aContainers = await queue(a, 'CONTAINER', 5);
    const aHeartbeats = await queue(a, 'HEARTBEAT', 3);
    const bContainers = await queue(b, 'CONTAINER', 1);

    const first = (await claim()).map((j) => j.id);
    expect(first.sort()).toEqual([...aContainers.slice(0, 2), ...aHeartbeats, ...bContainers].sort());
    // Full: nothing more of A's until one finishes, however often executors ask.
    expect(await claim()).toHaveLength(0);
    await finish([aContainers[0]!]);
    expect((await claim()).map((j) => j.id)).toEqual([aContainers[2]]);
    const pending = await database.db
      .selectFrom('jobs')
      .select('id')
      .where('status', '=', 'PENDING')
      .execute();
    expect(pending.map((p) => p.id).sort()).toEqual(aContainers.slice(3).sort());
  });

  it("never lets a full user's backlog fill the batch ahead of other users' jobs", async () => {
    const a = await insertUser(database.db);
    const b = await insertUser(database.db);
    const aContainers = await queue(a, 'CONTAINER', 30);
    const bJobs = [...(await queue(b, 'CONTAINER', 2)), ...(await queue(b, 'HEARTBEAT', 2))];
    // A's first two start; then batches of 3 reach B's later jobs past A's 28 earlier ones.
    expect((await claim(2)).map((j) => j.id)).toEqual(aContainers.slice(0, 2));
    expect((await claim(3)).map((j) => j.id).sort()).toEqual(bJobs.slice(0, 3).sort());
    expect((await claim(3)).map((j) => j.id)).toEqual([bJobs[3]]);
  });

  it('says how many candidates of a batch it passed over, and the next claim reaches the jobs behind them', async () => {
    const a = await insertUser(database.db);
    const b = await insertUser(database.db);
    const aContainers = await queue(a, 'CONTAINER', 5);
    const bJobs = await queue(b, 'HEARTBEAT', 3);
    // A batch of 5 holds only A's containers: 2 start, 3 are passed over (A had room at the start).
    const first = await claim(5);
    expect(first.map((j) => j.id)).toEqual(aContainers.slice(0, 2));
    expect(first.passedOver).toBe(3);
    // A is full now: left out of the scan, the next batch is B's.
    const second = await claim(5);
    expect(second.map((j) => j.id).sort()).toEqual([...bJobs].sort());
    expect(second.passedOver).toBe(0);
  });

  it('hands out distinct slots 1..quota, and the database refuses a second job in a held slot', async () => {
    const a = await insertUser(database.db);
    await queue(a, 'CONTAINER', 3);
    await claim();
    const running = await database.db
      .selectFrom('jobs')
      .select(['id', 'container_slot'])
      .where('status', '=', 'RUNNING')
      .orderBy('container_slot')
      .execute();
    expect(running.map((r) => r.container_slot)).toEqual([1, 2]);
    // What two executors claiming for A at once would do: the loser gets 23505 (a retry next round).
    const [extra] = await database.db
      .selectFrom('jobs')
      .select('id')
      .where('status', '=', 'PENDING')
      .execute();
    await expect(
      database.db
        .updateTable('jobs')
        .set({
          status: 'RUNNING',
          lease_owner: 'executor-b',
          lease_expires_at: new Date(),
          container_slot: 2,
        })
        .where('id', '=', extra!.id)
        .execute(),
    ).rejects.toMatchObject({ code: '23505' });
    // A finished job frees its slot: the next one takes the lowest free number.
    await finish([running[0]!.id]);
    await claim();
    const slots = await database.db
      .selectFrom('jobs')
      .select('container_slot')
      .where('status', '=', 'RUNNING')
      .orderBy('container_slot')
      .execute();
    expect(slots.map((r) => r.container_slot)).toEqual([1, 2]);
  });

  it("applies a user's own value, gives administrators no limit unless they have one, and 0 means no limit", async () => {
    const own = await insertUser(database.db);
    const boss = await admin();
    const cappedBoss = await admin();
    const unlimited = await insertUser(database.db);
    await database.db
      .insertInto('user_quotas')
      .values([
        { user_id: own, max_concurrent_containers: 3 },
        { user_id: cappedBoss, max_concurrent_containers: 1 },
        { user_id: unlimited, max_concurrent_containers: 0 },
      ])
      .execute();
    await queue(own, 'CONTAINER', 5);
    await queue(boss, 'CONTAINER', 5);
    await queue(cappedBoss, 'CONTAINER', 5);
    await queue(unlimited, 'CONTAINER', 5);
    const claimed = await claim();
    const count = (userId: string) => claimed.filter((j) => j.user_id === userId).length;
    expect([count(own), count(boss), count(cappedBoss), count(unlimited)]).toEqual([3, 5, 1, 5]);
    // Slots only where a quota applies.
    const slotted = claimed.filter((j) => j.user_id === boss || j.user_id === unlimited).map((j) => j.id);
    const rows = await database.db
      .selectFrom('jobs')
      .select('container_slot')
      .where('id', 'in', slotted)
      .execute();
    expect(rows.every((r) => r.container_slot === null)).toBe(true);
    // The configured default of 0 lifts the limit of users without a value of their own.
    const plain = await insertUser(database.db);
    await queue(plain, 'CONTAINER', 4);
    expect(await claim(50, { maxConcurrentContainers: 0 })).toHaveLength(4);
  });

  it('holds a lowered quota: a user over it starts nothing until enough have finished', async () => {
    const a = await insertUser(database.db);
    const ids = await queue(a, 'CONTAINER', 6);
    await database.db
      .insertInto('user_quotas')
      .values({ user_id: a, max_concurrent_containers: 3 })
      .execute();
    expect(await claim()).toHaveLength(3);
    await database.db
      .updateTable('user_quotas')
      .set({ max_concurrent_containers: 1 })
      .where('user_id', '=', a)
      .execute();
    await finish([ids[0]!]);
    expect(await claim()).toHaveLength(0);
    await finish([ids[1]!]);
    expect(await claim()).toHaveLength(0);
    await finish([ids[2]!]);
    expect((await claim()).map((j) => j.id)).toEqual([ids[3]]);
  });

  it.runIf(engineName === 'postgres')(
    'passes over a user another transaction is claiming for, and claims the rest',
    async () => {
      const a = await insertUser(database.db);
      const b = await insertUser(database.db);
      await queue(a, 'CONTAINER', 2);
      const bJobs = await queue(b, 'CONTAINER', 1);
      const aHeartbeat = await queue(a, 'HEARTBEAT', 1);
      // Another executor's claim (or a create of A's) holds A's row.
      const { rows } = await sql<{ name: string }>`SELECT current_database() AS name`.execute(database.db);
      const other = new pg.Client({ connectionString: databaseUrl(rows[0]!.name) });
      await other.connect();
      try {
        await other.query('BEGIN');
        await other.query('SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE', [a]);
        const claimed = (await claim()).map((j) => j.id).sort();
        expect(claimed).toEqual([...bJobs, ...aHeartbeat].sort());
        await other.query('COMMIT');
        expect(await claim()).toHaveLength(2);
      } finally {
        await other.end();
      }
    },
  );
});

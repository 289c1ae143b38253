/**
 * Missed-fire detector (issue 13; docs/scheduling.md "Missed-fire alerts"): finds workflows whose
 * due fire time has not started within `afterMs` (CHRONOVERSE_SCHEDULER_MISSED_ALERT_AFTER) and
 * opens one incident per workflow, with one SCHEDULE_MISSED fact (→ an ALERT in-app notification,
 * the webhook event `schedule.missed`, email by subscription). The cause comes from
 * src/domain/missed-fire.ts.
 *
 * Where it runs: beside housekeeping in the `outbox-relay` role, not in the scheduler. A scheduler
 * that is down cannot report itself, and in the distributed profile the relay is its own process;
 * the relay is also the one role the alert cannot do without (the fact reaches notifications and
 * webhooks through the outbox it publishes). Several relays mean several detectors: harmless.
 *
 * Exactly once: one round is one transaction. It resolves the open incidents whose workflow is no
 * longer late (a tick started again, or it was paused, terminated or deleted), then inserts an
 * incident for each late workflow with ON CONFLICT DO NOTHING on the partial unique index of open
 * incidents (migration 0025), and writes a fact only for the rows that went in. A second detector,
 * a restart, or the next round finds the incident open and writes nothing; once resolved, a later
 * miss is a new incident with a new alert.
 *
 * Cost per round (every `intervalMs`): the due index ranges of workflows late by `afterMs` (built:
 * workflows_due_idx; not built: workflows_unbuilt_due_idx; empty while schedulers keep up), the
 * runnable-jobs index range older than `afterMs`, and one ledger probe (primary key, last entry)
 * per late workflow. Beside 100k workflows and 20k waiting jobs, none late: 10 ms median
 * (`node bench/missed-fires.ts`).
 */
import { sql, type Kysely } from 'kysely';
import { missedFire } from '../../domain/missed-fire.ts';
import type { Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { Events } from '../../platform/events.ts';
import { newId } from '../../platform/ids.ts';
import type { Logger } from '../../platform/logger.ts';
import { writeWorkflowFact } from '../../services/facts.ts';
import { Loop } from '../loop.ts';

export interface MissedFiresConfig {
  /** Alert when a due fire time has not started this long after it; 0: off. @default 60000 */
  afterMs: number;
  /** Pause between rounds. @default min(15 s, afterMs / 2), at least 1 s */
  intervalMs: number;
  /** Late workflows handled per round. @default 1000 */
  batchSize: number;
}

export const MISSED_FIRES_DEFAULTS = { afterMs: 60_000, batchSize: 1000 };

export interface MissedFiresResult {
  /** Late workflows seen this round. */
  late: number;
  /** Incidents this detector opened (an alert each). */
  opened: number;
  /** Incidents resolved this round. */
  resolved: number;
}

interface LateRow {
  id: string;
  user_id: string;
  generation: number;
  name: string;
  kind: 'HEARTBEAT' | 'CONTAINER';
  build_status: string;
  build_error: string | null;
  overdue: Date | null;
  since: Date | null;
  waiting: number | null;
  last_nominal: Date | null;
  last_recorded: Date | null;
  last_outcome: string | null;
}

export class MissedFireDetector {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #events: Events;
  readonly #logger: Logger;
  readonly #config: MissedFiresConfig;
  readonly #loop: Loop;

  constructor(
    deps: { db: Kysely<DB>; clock: Clock; events: Events; logger: Logger },
    config: Partial<MissedFiresConfig> = {},
  ) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#events = deps.events;
    this.#logger = deps.logger;
    const afterMs = config.afterMs ?? MISSED_FIRES_DEFAULTS.afterMs;
    if (afterMs < 0) throw new Error('missed-fire afterMs must not be negative');
    this.#config = {
      afterMs,
      batchSize: config.batchSize ?? MISSED_FIRES_DEFAULTS.batchSize,
      intervalMs: config.intervalMs ?? Math.max(1000, Math.min(15_000, Math.floor(afterMs / 2))),
    };
    this.#loop = new Loop({
      name: 'missed-fires',
      logger: deps.logger,
      run: async () => {
        await this.runOnce();
        return this.#config.intervalMs;
      },
    });
  }

  /** Starts the loop, unless alerts are off (afterMs 0). */
  start(): void {
    if (this.#config.afterMs > 0) this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  async runOnce(): Promise<MissedFiresResult> {
    if (this.#config.afterMs <= 0) return { late: 0, opened: 0, resolved: 0 };
    const now = this.#clock.now();
    const cutoff = new Date(now.getTime() - this.#config.afterMs);
    const result = await this.#db.transaction().execute(async (trx) => {
      // Late: next_run_at older than the cutoff (no scheduler made its run), or an automatic run
      // still waiting past it while nothing of the workflow runs (a run waiting behind its own
      // running one waits by the overlap policy, not for an executor).
      const { rows: late } = await sql<LateRow>`
        WITH waiting AS (
          SELECT j.workflow_id, min(j.scheduled_at) AS since, count(*)::int AS n
          FROM jobs j
          WHERE j.status IN ('PENDING', 'QUEUED') AND j.scheduled_at < ${cutoff}
            AND j.trigger = 'AUTOMATIC' AND j.run_id IS NULL
            AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.workflow_id = j.workflow_id AND r.status = 'RUNNING')
          GROUP BY j.workflow_id
        ), late AS (
          -- Built ones: workflows_due_idx (the scheduler's own claim index).
          SELECT id FROM workflows
          WHERE next_run_at < ${cutoff} AND terminated_at IS NULL AND paused_at IS NULL AND build_status = 'COMPLETED'
          UNION
          -- Not built: workflows_unbuilt_due_idx (migration 0025), which holds only those.
          SELECT id FROM workflows
          WHERE next_run_at < ${cutoff} AND terminated_at IS NULL AND paused_at IS NULL AND build_status <> 'COMPLETED'
            AND next_run_at IS NOT NULL
          UNION
          -- Build failed: the scheduler moves them along and records NOT_BUILT (the ledger says when).
          SELECT id FROM workflows
          WHERE build_status = 'FAILED' AND terminated_at IS NULL AND paused_at IS NULL AND next_run_at IS NOT NULL
          UNION
          SELECT workflow_id FROM waiting
        )
        SELECT w.id, w.user_id, w.generation, w.name, w.kind, w.build_status, w.build_error,
               CASE WHEN w.next_run_at < ${cutoff} THEN w.next_run_at END AS overdue,
               wt.since, wt.n AS waiting, t.nominal_at AS last_nominal, t.recorded_at AS last_recorded,
               t.outcome AS last_outcome
        FROM late JOIN workflows w ON w.id = late.id
        LEFT JOIN waiting wt ON wt.workflow_id = w.id
        LEFT JOIN LATERAL (
          SELECT nominal_at, recorded_at, outcome FROM workflow_ticks WHERE workflow_id = w.id ORDER BY nominal_at DESC LIMIT 1
        ) t ON true
        WHERE w.terminated_at IS NULL AND w.paused_at IS NULL
        ORDER BY w.id
        LIMIT ${this.#config.batchSize}`.execute(trx);

      // Resolved: open incidents of workflows that are not late any more. With a full batch some
      // late workflows were not read: resolve nothing this round rather than wrongly.
      let resolved = 0;
      if (late.length < this.#config.batchSize) {
        const r = await sql`
          UPDATE schedule_incidents SET resolved_at = ${now}
          WHERE resolved_at IS NULL AND NOT (workflow_id = ANY(${late.map((l) => l.id)}::uuid[]))`.execute(
          trx,
        );
        resolved = Number(r.numAffectedRows ?? 0);
      }

      const found = late.flatMap((w) => {
        const miss = missedFire({
          overdueNextRunAt: w.overdue,
          buildStatus: w.build_status,
          buildError: w.build_error,
          waiting: w.since === null ? null : { since: w.since, count: w.waiting ?? 1 },
          lastTick:
            w.last_nominal === null
              ? null
              : {
                  nominalAt: w.last_nominal,
                  recordedAt: w.last_recorded!,
                  outcome: w.last_outcome ?? undefined,
                },
          now,
          afterMs: this.#config.afterMs,
        });
        return miss === null ? [] : [{ w, miss, id: newId() }];
      });
      if (found.length === 0) return { late: late.length, opened: 0, resolved };
      const { rows: opened } = await sql<{ id: string }>`
        INSERT INTO schedule_incidents (id, workflow_id, cause, due_at, reason, opened_at)
        SELECT i.id, i.workflow_id, i.cause, i.due_at, i.reason, ${now}
        FROM unnest(${found.map((f) => f.id)}::uuid[], ${found.map((f) => f.w.id)}::uuid[],
                    ${found.map((f) => f.miss.cause)}::text[], ${found.map((f) => f.miss.dueAt.toISOString())}::timestamptz[],
                    ${found.map((f) => f.miss.reason)}::text[])
          AS i(id, workflow_id, cause, due_at, reason)
        ON CONFLICT (workflow_id) WHERE resolved_at IS NULL DO NOTHING
        RETURNING id`.execute(trx);
      const mine = new Set(opened.map((o) => o.id));
      for (const f of found) {
        if (!mine.has(f.id)) continue;
        await writeWorkflowFact(trx, 'SCHEDULE_MISSED', f.w, now, {
          incident_id: f.id,
          cause: f.miss.cause,
          due_at: f.miss.dueAt.toISOString(),
          reason: f.miss.reason,
        });
      }
      return { late: late.length, opened: mine.size, resolved };
    });
    if (result.opened > 0) {
      this.#logger.warn({ opened: result.opened }, 'missed-fire incidents opened');
      this.#events.emit('outbox:written', { count: result.opened });
    }
    return result;
  }
}

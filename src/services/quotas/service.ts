/**
 * Quotas service: what administrators see and change of users' quotas (GET/PUT
 * /admin/users/{id}/quotas, GET /admin/quotas). Owns the `user_quotas` table; the quotas are
 * enforced by the workflows and jobs services (./enforce.ts) and the executor's claim.
 */
import { sql, type Kysely } from 'kysely';
import { NotFoundError, ValidationError } from '../../domain/errors.ts';
import { fieldIssuesFromZod } from '../../domain/field-issues.ts';
import {
  effectiveQuotas,
  QUOTA_DEFAULTS,
  QUOTA_NAMES,
  QuotaUpdateSchema,
  type QuotaName,
  type QuotaOverrides,
  type QuotaUpdate,
  type Quotas,
} from '../../domain/quotas.ts';
import type { Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/schema.ts';
import type { QuotasApi, QuotaView, UserQuotasView } from './api.ts';
import { RUN_WINDOW_MS } from './enforce.ts';

interface QuotaRow extends QuotaOverrides {
  id: string;
  email: string;
  role: 'admin' | 'user';
  updated_at: Date | null;
  updated_by: string | null;
  workflows: number;
  runs_last_minute: number;
  running_containers: number;
}

export class QuotasService implements QuotasApi {
  readonly #db: Kysely<DB>;
  readonly #clock: Clock;
  readonly #defaults: Quotas;

  constructor(db: Kysely<DB>, clock: Clock, defaults: Quotas = QUOTA_DEFAULTS) {
    this.#db = db;
    this.#clock = clock;
    this.#defaults = defaults;
  }

  async get(userId: string): Promise<UserQuotasView> {
    const [row] = await this.#rows(this.#db, { ids: [userId], limit: 1 });
    if (!row) throw new NotFoundError('User');
    return this.#view(row);
  }

  async set(actorId: string, userId: string, changes: QuotaUpdate): Promise<UserQuotasView> {
    const parsed = QuotaUpdateSchema.safeParse(changes);
    if (!parsed.success) throw new ValidationError(fieldIssuesFromZod(parsed.error.issues));
    const given = parsed.data as QuotaUpdate;
    const now = this.#clock.now();
    await this.#db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
      if (!user) throw new NotFoundError('User');
      const set = Object.fromEntries(
        QUOTA_NAMES.filter((n) => given[n] !== undefined).map((n) => [n, given[n]]),
      ) as QuotaUpdate;
      await trx
        .insertInto('user_quotas')
        .values({ user_id: userId, ...set, updated_at: now, updated_by: actorId })
        .onConflict((oc) =>
          oc.column('user_id').doUpdateSet({ ...set, updated_at: now, updated_by: actorId }),
        )
        .execute();
    });
    return this.get(userId);
  }

  async list(params: {
    limit: number;
    afterId?: string;
  }): Promise<{ users: UserQuotasView[]; nextAfterId: string | null }> {
    const rows = await this.#rows(this.#db, {
      limit: params.limit + 1,
      ...(params.afterId !== undefined ? { afterId: params.afterId } : {}),
    });
    const page = rows.slice(0, params.limit);
    return {
      users: page.map((r) => this.#view(r)),
      nextAfterId: rows.length > params.limit ? page.at(-1)!.id : null,
    };
  }

  /**
   * Users with their own values and their usage, newest first: one statement per page, three
   * index probes per user (workflows_user_id_idx, jobs_user_manual_created_idx and
   * jobs_user_status_idx).
   */
  #rows(db: Kysely<DB>, params: { ids?: string[]; afterId?: string; limit: number }): Promise<QuotaRow[]> {
    const now = this.#clock.now();
    const since = new Date(now.getTime() - RUN_WINDOW_MS);
    let q = db
      .selectFrom('users as u')
      .leftJoin('user_quotas as q', 'q.user_id', 'u.id')
      .select([
        'u.id',
        'u.email',
        'u.role',
        'q.max_workflows',
        'q.runs_per_minute',
        'q.min_schedule_seconds',
        'q.max_concurrent_containers',
        'q.updated_at',
        'q.updated_by',
        sql<number>`(SELECT count(*)::int FROM workflows w WHERE w.user_id = u.id)`.as('workflows'),
        sql<number>`(SELECT count(*)::int FROM jobs j WHERE j.user_id = u.id AND j.trigger = 'MANUAL'
                      AND j.created_at > ${since} AND j.created_at <= ${now} AND j.run_id IS NULL)`.as(
          'runs_last_minute',
        ),
        // The job's own kind: a DAG's CONTAINER tasks count, a DAG run itself does not.
        sql<number>`(SELECT count(*)::int FROM jobs j
                      WHERE j.user_id = u.id AND j.status = 'RUNNING' AND j.kind = 'CONTAINER')`.as(
          'running_containers',
        ),
      ])
      .orderBy('u.id', 'desc')
      .limit(params.limit);
    if (params.ids !== undefined) q = q.where('u.id', 'in', params.ids);
    if (params.afterId !== undefined) q = q.where('u.id', '<', params.afterId);
    return q.execute() as Promise<QuotaRow[]>;
  }

  #view(row: QuotaRow): UserQuotasView {
    const { quotas, sources } = effectiveQuotas(row.role, row, this.#defaults);
    const usage: Record<QuotaName, number | null> = {
      max_workflows: row.workflows,
      runs_per_minute: row.runs_last_minute,
      min_schedule_seconds: null,
      max_concurrent_containers: row.running_containers,
    };
    return {
      user_id: row.id,
      email: row.email,
      role: row.role,
      quotas: Object.fromEntries(
        QUOTA_NAMES.map((n) => [n, { limit: quotas[n], source: sources[n], usage: usage[n] }]),
      ) as Record<QuotaName, QuotaView>,
      updated_at: row.updated_at ? new Date(row.updated_at).toISOString() : null,
      updated_by: row.updated_by,
    };
  }
}

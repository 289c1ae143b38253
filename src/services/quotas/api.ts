/**
 * What the gateway's admin routes need of the quotas service. `QuotasService` implements it in
 * process; the generic adapter over its .proto (src/platform/rpc/service-adapter.ts)
 * over RPC, returning the very same objects. Served by the
 * workflows role.
 */
import type { QuotaName, QuotaSource, QuotaUpdate } from '../../domain/quotas.ts';

/** One quota of one user: its value (0 = no limit), where it comes from, and the usage now. */
export interface QuotaView {
  limit: number;
  source: QuotaSource;
  /**
   * max_workflows: workflows the user has; runs_per_minute: manual runs and retries in the last
   * 60 s; max_concurrent_containers: CONTAINER jobs running now; min_schedule_seconds: null.
   */
  usage: number | null;
}

export interface UserQuotasView {
  user_id: string;
  email: string;
  role: 'admin' | 'user';
  quotas: Record<QuotaName, QuotaView>;
  /** When an administrator last changed this user's values (null: never), and who. */
  updated_at: string | null;
  updated_by: string | null;
}

export interface QuotasApi {
  /** 404 (CV_NOT_FOUND) for an unknown user. */
  get(userId: string): Promise<UserQuotasView>;
  /** Applies `changes` (null: back to the default; absent: unchanged); 404 for an unknown user. */
  set(actorId: string, userId: string, changes: QuotaUpdate): Promise<UserQuotasView>;
  /** Every user, newest first (keyset on the id). */
  list(params: {
    limit: number;
    afterId?: string;
  }): Promise<{ users: UserQuotasView[]; nextAfterId: string | null }>;
}

/** Users' quotas ↔ chronoverse.quotas.v1 messages. */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type {
  UserQuotas as UserQuotasMessage,
  UserQuotasSchema,
} from '../../gen/chronoverse/quotas/v1/quotas_pb.js';
import { QUOTA_NAMES, QUOTA_SOURCES, type QuotaName, type QuotaSource } from '../../domain/quotas.ts';
import { fromOptionalTimestamp, required, toOptionalTimestamp } from '../../platform/rpc/codec.ts';
import type { QuotaView, UserQuotasView } from './api.ts';

export function userQuotasToWire(v: UserQuotasView): MessageInitShape<typeof UserQuotasSchema> {
  return {
    userId: v.user_id,
    email: v.email,
    role: v.role,
    quotas: Object.fromEntries(
      QUOTA_NAMES.map((n) => {
        const q = v.quotas[n];
        return [
          n,
          { limit: q.limit, source: q.source, ...(q.usage !== null ? { usage: BigInt(q.usage) } : {}) },
        ];
      }),
    ),
    updatedAt: toOptionalTimestamp(v.updated_at),
    ...(v.updated_by !== null ? { updatedBy: v.updated_by } : {}),
  };
}

export function userQuotasFromWire(m: UserQuotasMessage | undefined): UserQuotasView {
  const u = required(m, 'user quotas');
  const quotas = {} as Record<QuotaName, QuotaView>;
  for (const n of QUOTA_NAMES) {
    const q = required(u.quotas[n], `quota ${n}`);
    if (!(QUOTA_SOURCES as readonly string[]).includes(q.source)) {
      throw new Error(`quota ${n} has an unknown source "${q.source}"`);
    }
    quotas[n] = {
      limit: q.limit,
      source: q.source as QuotaSource,
      usage: q.usage === undefined ? null : Number(q.usage),
    };
  }
  return {
    user_id: u.userId,
    email: u.email,
    role: u.role === 'admin' ? 'admin' : 'user',
    quotas,
    updated_at: fromOptionalTimestamp(u.updatedAt),
    updated_by: u.updatedBy ?? null,
  };
}

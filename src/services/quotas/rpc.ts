/** chronoverse.quotas.v1.QuotasService served by a QuotasApi (the in-process QuotasService). */
import { QuotasService } from '../../gen/chronoverse/quotas/v1/quotas_pb.js';
import { QUOTA_NAMES, type QuotaUpdate } from '../../domain/quotas.ts';
import { ValidationError } from '../../domain/errors.ts';
import type { ServiceRegistration } from '../../platform/rpc/registration.ts';
import type { QuotasApi } from './api.ts';
import { userQuotasToWire } from './wire.ts';

export function quotasRpc(quotas: QuotasApi): ServiceRegistration {
  return {
    typeName: QuotasService.typeName,
    register: (router) =>
      router.service(QuotasService, {
        getUserQuotas: async (req) => ({ user: userQuotasToWire(await quotas.get(req.userId)) }),
        setUserQuotas: async (req) => {
          const changes: Record<string, number | null> = { ...req.set };
          for (const name of req.reset) changes[name] = null;
          // The service validates the values; a name it does not know is refused here, as the gateway would.
          const unknown = Object.keys(changes).filter((n) => !(QUOTA_NAMES as readonly string[]).includes(n));
          if (unknown.length > 0) {
            throw new ValidationError(unknown.map((path) => ({ path, message: 'is not a known quota' })));
          }
          const view = await quotas.set(req.actorId, req.userId, changes as QuotaUpdate);
          return { user: userQuotasToWire(view) };
        },
        listUserQuotas: async (req) => {
          const page = await quotas.list({
            limit: req.limit,
            ...(req.afterId !== undefined ? { afterId: req.afterId } : {}),
          });
          return {
            users: page.users.map(userQuotasToWire),
            ...(page.nextAfterId !== null ? { nextAfterId: page.nextAfterId } : {}),
          };
        },
      }),
  };
}

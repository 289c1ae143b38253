/**
 * QuotasApi over RPC (the workflows role serves it): the same objects QuotasService returns, the
 * same errors it throws.
 */
import { createClient, type Client, type Transport } from '@connectrpc/connect';
import { QuotasService } from '../../gen/chronoverse/quotas/v1/quotas_pb.js';
import type { QuotaUpdate } from '../../domain/quotas.ts';
import { rpcCall } from '../../platform/rpc/call.ts';
import type { QuotasApi, UserQuotasView } from './api.ts';
import { userQuotasFromWire } from './wire.ts';

export class QuotasClient implements QuotasApi {
  readonly #rpc: Client<typeof QuotasService>;
  readonly #call = rpcCall('workflows');

  constructor(transport: Transport) {
    this.#rpc = createClient(QuotasService, transport);
  }

  get(userId: string): Promise<UserQuotasView> {
    return this.#call(async () => userQuotasFromWire((await this.#rpc.getUserQuotas({ userId })).user));
  }

  set(actorId: string, userId: string, changes: QuotaUpdate): Promise<UserQuotasView> {
    const set: Record<string, number> = {};
    const reset: string[] = [];
    for (const [name, value] of Object.entries(changes)) {
      if (value === null) reset.push(name);
      else if (value !== undefined) set[name] = value;
    }
    return this.#call(async () =>
      userQuotasFromWire((await this.#rpc.setUserQuotas({ actorId, userId, set, reset })).user),
    );
  }

  list(params: {
    limit: number;
    afterId?: string;
  }): Promise<{ users: UserQuotasView[]; nextAfterId: string | null }> {
    return this.#call(async () => {
      const res = await this.#rpc.listUserQuotas({ limit: params.limit, afterId: params.afterId });
      return { users: res.users.map(userQuotasFromWire), nextAfterId: res.nextAfterId ?? null };
    });
  }
}

/**
 * BusAdmin over RPC (the jobs role serves it): the same objects BusAdminService returns, the same
 * errors it throws (a redrive of a row that is not DEAD is the same NotFoundError, 404).
 */
import { createClient, type Client, type Transport } from '@connectrpc/connect';
import { BusAdminService } from '../../gen/chronoverse/jobs/v1/bus_admin_pb.js';
import { rpcCall } from '../../platform/rpc/call.ts';
import type { BusAdmin, DeadOutboxRow, Page, ParkedMessage } from './types.ts';
import { deadRowFromWire, parkedFromWire } from './wire.ts';

export class BusAdminClient implements BusAdmin {
  readonly #rpc: Client<typeof BusAdminService>;
  readonly #call = rpcCall('jobs');

  constructor(transport: Transport) {
    this.#rpc = createClient(BusAdminService, transport);
  }

  listDeadOutbox(params: { limit: number; cursor?: string }): Promise<Page<DeadOutboxRow>> {
    return this.#call(async () => {
      const res = await this.#rpc.listDeadOutbox({ limit: params.limit, cursor: params.cursor });
      return { items: res.items.map(deadRowFromWire), next_cursor: res.nextCursor ?? null };
    });
  }

  redriveOutbox(id: string): Promise<DeadOutboxRow> {
    return this.#call(async () => deadRowFromWire((await this.#rpc.redriveOutbox({ id })).row));
  }

  listParked(params: { limit: number; cursor?: string; redriven?: boolean }): Promise<Page<ParkedMessage>> {
    return this.#call(async () => {
      const res = await this.#rpc.listParked({
        limit: params.limit,
        cursor: params.cursor,
        redriven: params.redriven,
      });
      return { items: res.items.map(parkedFromWire), next_cursor: res.nextCursor ?? null };
    });
  }

  redriveParked(id: string): Promise<ParkedMessage> {
    return this.#call(async () => parkedFromWire((await this.#rpc.redriveParked({ id })).message));
  }

  counts(): Promise<{ deadOutbox: number; parked: number }> {
    return this.#call(async () => {
      const res = await this.#rpc.counts({});
      return { deadOutbox: res.deadOutbox, parked: res.parked };
    });
  }
}

/** chronoverse.jobs.v1.BusAdminService served by a BusAdmin (the in-process BusAdminService). */
import { BusAdminService } from '../../gen/chronoverse/jobs/v1/bus_admin_pb.js';
import type { ServiceRegistration } from '../../platform/rpc/registration.ts';
import type { BusAdmin } from './types.ts';
import { deadRowToWire, parkedToWire } from './wire.ts';

export function busAdminRpc(admin: BusAdmin): ServiceRegistration {
  return {
    typeName: BusAdminService.typeName,
    register: (router) =>
      router.service(BusAdminService, {
        listDeadOutbox: async (req) => {
          const page = await admin.listDeadOutbox({
            limit: req.limit,
            ...(req.cursor !== undefined ? { cursor: req.cursor } : {}),
          });
          return {
            items: page.items.map(deadRowToWire),
            ...(page.next_cursor !== null ? { nextCursor: page.next_cursor } : {}),
          };
        },
        redriveOutbox: async (req) => ({ row: deadRowToWire(await admin.redriveOutbox(req.id)) }),
        listParked: async (req) => {
          const page = await admin.listParked({
            limit: req.limit,
            ...(req.cursor !== undefined ? { cursor: req.cursor } : {}),
            ...(req.redriven !== undefined ? { redriven: req.redriven } : {}),
          });
          return {
            items: page.items.map(parkedToWire),
            ...(page.next_cursor !== null ? { nextCursor: page.next_cursor } : {}),
          };
        },
        redriveParked: async (req) => ({ message: parkedToWire(await admin.redriveParked(req.id)) }),
        counts: async () => await admin.counts(),
      }),
  };
}

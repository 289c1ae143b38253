/**
 * Prometheus metrics of a process (`prom-client`), served at `/metrics` by the gateway or the
 * operations server. Node's process metrics, plus the delivery backlog where the process has a
 * database: outbox rows parked as DEAD and bus messages parked by a consumer group — the
 * "something needs an operator" signals (re-drive them with the admin API). More series come with
 * the observability work; every collector reads at scrape time, nothing runs between scrapes.
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { BusAdmin } from '../../services/bus-admin/types.ts';

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** One database round trip per scrape, shared by both gauges. */
export function registerDeliveryMetrics(registry: Registry, busAdmin: Pick<BusAdmin, 'counts'>): void {
  let pending: Promise<{ deadOutbox: number; parked: number }> | null = null;
  const counts = () => {
    pending ??= busAdmin.counts().finally(() => setTimeout(() => (pending = null), 0));
    return pending;
  };
  new Gauge({
    name: 'chronoverse_outbox_dead_rows',
    help: 'Outbox rows that failed to publish too often and wait for an operator (POST /api/v1/admin/outbox/{id}/redrive)',
    registers: [registry],
    async collect() {
      const c = await counts().catch(() => null); // database away: keep the last value, serve the rest
      if (c) this.set(c.deadOutbox);
    },
  });
  new Gauge({
    name: 'chronoverse_bus_parked_messages',
    help: 'Bus messages a consumer group parked after failing to handle them, not yet re-driven (POST /api/v1/admin/bus/parked/{id}/redrive)',
    registers: [registry],
    async collect() {
      const c = await counts().catch(() => null);
      if (c) this.set(c.parked);
    },
  });
}

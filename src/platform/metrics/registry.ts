/**
 * Prometheus metrics of a process (`prom-client`), served at `/metrics` by the gateway or the
 * operations server. Node's process metrics, plus the delivery backlog where the process has a
 * database: outbox rows parked as DEAD and bus messages parked by a consumer group — the
 * "something needs an operator" signals (re-drive them with the admin API); the outbox backlog and
 * Kafka consumer lag. Every collector reads at scrape time, nothing runs between scrapes. The
 * other series live beside what they measure (./jobs.ts, ./http.ts, ./containers.ts); every
 * module takes the registry as a parameter, so several processes can share one test runner.
 */
import { sql, type Kysely } from 'kysely';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { BusAdmin } from '../../services/bus-admin/types.ts';
import type { DB } from '../db/schema.ts';

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

/**
 * The outbox backlog: PENDING rows and the age of the oldest one. One statement per scrape
 * (outbox_pending_idx). With the in-process bus this is also the consumer lag: a row stays
 * PENDING until every group handled it.
 */
export function registerOutboxMetrics(registry: Registry, db: Kysely<DB>): void {
  let pending: Promise<{ rows: number; age: number }> | null = null;
  const read = () => {
    pending ??= sql<{ rows: string | number; age: string | number | null }>`
      SELECT count(*) AS rows, extract(epoch FROM now() - min(created_at)) AS age
      FROM outbox WHERE status = 'PENDING'`
      .execute(db)
      .then(({ rows }) => ({ rows: Number(rows[0]?.rows ?? 0), age: Number(rows[0]?.age ?? 0) }))
      .finally(() => setTimeout(() => (pending = null), 0));
    return pending;
  };
  new Gauge({
    name: 'chronoverse_outbox_pending_rows',
    help: 'Outbox rows committed but not yet published to the bus (the in-process bus: not yet handled by every group)',
    registers: [registry],
    async collect() {
      const r = await read().catch(() => null);
      if (r) this.set(r.rows);
    },
  });
  new Gauge({
    name: 'chronoverse_outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest PENDING outbox row (0 when none): how far event delivery is behind',
    registers: [registry],
    async collect() {
      const r = await read().catch(() => null);
      if (r) this.set(Math.max(0, r.age));
    },
  });
}

/** Kafka consumer lag of this process's groups (high watermark − committed offset, summed over the partitions it holds). */
export function registerConsumerLagMetrics(
  registry: Registry,
  lags: () => Promise<Array<{ topic: string; group: string; lag: number }>>,
): void {
  new Gauge({
    name: 'chronoverse_bus_consumer_lag_messages',
    help: 'Kafka messages not yet committed by a consumer group, over the partitions this process holds (sum over processes for the group)',
    labelNames: ['topic', 'group'] as const,
    registers: [registry],
    async collect() {
      const all = await lags().catch(() => null);
      if (!all) return;
      this.reset();
      for (const l of all) this.set({ topic: l.topic, group: l.group }, l.lag);
    },
  });
}

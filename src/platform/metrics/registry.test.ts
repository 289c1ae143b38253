import { describe, expect, it } from 'vitest';
import { createMetricsRegistry, registerDeliveryMetrics } from './registry.ts';

function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

describe('delivery metrics', () => {
  it('exposes DEAD outbox rows and parked messages with one count per scrape', async () => {
    const registry = createMetricsRegistry();
    let calls = 0;
    let counts = { deadOutbox: 2, parked: 5 };
    registerDeliveryMetrics(registry, {
      counts: async () => {
        calls += 1;
        return counts;
      },
    });
    const first = await registry.metrics();
    expect(sample(first, 'chronoverse_outbox_dead_rows')).toBe(2);
    expect(sample(first, 'chronoverse_bus_parked_messages')).toBe(5);
    expect(calls).toBe(1);
    expect(first).toContain('process_cpu_user_seconds_total');
    await new Promise((r) => setTimeout(r, 5));
    counts = { deadOutbox: 0, parked: 7 };
    const second = await registry.metrics();
    expect(sample(second, 'chronoverse_bus_parked_messages')).toBe(7);
    expect(calls).toBe(2);
  });

  it('keeps serving (with the last values) while the database is away', async () => {
    const registry = createMetricsRegistry();
    let up = true;
    registerDeliveryMetrics(registry, {
      counts: async () => {
        if (!up) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        return { deadOutbox: 1, parked: 3 };
      },
    });
    await registry.metrics();
    up = false;
    await new Promise((r) => setTimeout(r, 5));
    const text = await registry.metrics();
    expect(sample(text, 'chronoverse_outbox_dead_rows')).toBe(1);
    expect(sample(text, 'chronoverse_bus_parked_messages')).toBe(3);
  });
});

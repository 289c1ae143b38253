import { Admin, Producer } from '@platformatic/kafka';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BusMessage } from '../../src/platform/bus/bus.ts';
import { kafkaGroupName, type KafkaBus } from '../../src/platform/bus/kafka-bus.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { BusAdminService } from '../../src/services/bus-admin/service.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase } from '../helpers/harness.ts';
import { makeBus, message, Recorder, uniquePrefix, waitForGroup } from './kafka-fixtures.ts';

const brokers = inject('kafkaBrokers');

describe('KafkaBus against a real broker', () => {
  let database: Database;
  const buses: KafkaBus[] = [];
  const track = (bus: KafkaBus) => (buses.push(bus), bus);

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
  });
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });
  afterAll(() => database.close());

  it('creates the five topics with the configured partitions, idempotently, even when processes race', async () => {
    const prefix = uniquePrefix();
    // A dozen, as when every role of the distributed profile starts at once on a fresh broker: the
    // ones that lose the race ask for metadata of topics the broker does not know yet.
    const racing = Array.from({ length: 12 }, () =>
      track(makeBus(brokers, database.db, prefix, { partitions: 4 })),
    );
    const results = await Promise.all(racing.map((bus) => bus.ensureTopics()));
    expect(results.flatMap((r) => r.created).length).toBeLessThanOrEqual(5);
    expect((await racing[0]!.ensureTopics()).created).toEqual([]);

    const admin = new Admin({ clientId: 'cv-test-admin', bootstrapBrokers: [brokers] });
    try {
      const names = ['workflows', 'jobs', 'job_logs', 'analytics', 'notifications'].map((t) => prefix + t);
      const metadata = await admin.metadata({ topics: names });
      for (const name of names) expect(metadata.topics.get(name)?.partitionsCount).toBe(4);
    } finally {
      await admin.close();
    }
  });

  it('keeps per-key order across many keys, with at most one message per key in a batch', async () => {
    const bus = track(makeBus(brokers, database.db, uniquePrefix(), { partitions: 4 }));
    const recorder = new Recorder();
    bus.subscribe({ topic: 'jobs', group: 'order', handler: recorder.handler });
    await bus.start();

    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
    const sent: BusMessage[] = [];
    for (let round = 0; round < 3; round++) {
      const batch: BusMessage[] = [];
      for (let n = 0; n < 5; n++) {
        for (const key of keys) batch.push(message(key, { n: round * 5 + n }));
      }
      await bus.publish(batch);
      sent.push(...batch);
    }
    await recorder.waitForIds(sent.map((m) => m.id));

    for (const batch of recorder.batches) {
      expect(new Set(batch.map((m) => m.key)).size).toBe(batch.length);
    }
    for (const key of keys) {
      const seen = recorder.handled.filter((m) => m.key === key).map((m) => m.payload.n);
      expect(seen).toEqual(Array.from({ length: 15 }, (_, i) => i));
    }
    const first = recorder.handled[0]!;
    expect(first.topic).toBe('jobs');
    expect(first.type).toBe('TEST');
  });

  it('carries headers (traceparent) beside the payload', async () => {
    const bus = track(makeBus(brokers, database.db, uniquePrefix()));
    const recorder = new Recorder();
    bus.subscribe({ topic: 'jobs', group: 'headers', handler: recorder.handler });
    await bus.start();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const m = { ...message('k', { a: 1 }), headers: { traceparent } };
    await bus.publish([m]);
    await recorder.waitForIds([m.id]);
    expect(recorder.handled[0]).toEqual(m);
  });

  it('shares partitions between two members of a group (each message once) and gives every group everything', async () => {
    const prefix = uniquePrefix();
    const members = [new Recorder(), new Recorder()];
    const other = new Recorder();
    const a = track(makeBus(brokers, database.db, prefix, { partitions: 6 }));
    const b = track(makeBus(brokers, database.db, prefix, { partitions: 6 }));
    a.subscribe({ topic: 'jobs', group: 'shared', handler: members[0]!.handler });
    a.subscribe({ topic: 'jobs', group: 'other', handler: other.handler });
    b.subscribe({ topic: 'jobs', group: 'shared', handler: members[1]!.handler });
    await a.start();
    await b.start();
    await waitForGroup(brokers, kafkaGroupName(prefix, 'shared', 'jobs'), 2);

    const sent = Array.from({ length: 300 }, (_, i) => message(`k${i}`, { i }));
    await a.publish(sent);
    const ids = sent.map((m) => m.id);
    await waitFor(async () => {
      const got = new Set([...members[0]!.handledIds(), ...members[1]!.handledIds()]);
      return ids.every((id) => got.has(id));
    });
    await other.waitForIds(ids);

    const all = [...members[0]!.handled, ...members[1]!.handled].map((m) => m.id);
    expect(all.length).toBe(300); // once per group: no message handled by both members
    expect(members[0]!.handled.length).toBeGreaterThan(0);
    expect(members[1]!.handled.length).toBeGreaterThan(0);
    expect(other.handled.length).toBe(300);
  });

  it('one group on two topics, in two processes: every message of both topics once', async () => {
    // A Kafka group whose members subscribe different topics is assigned partitions of topics a
    // member does not read; the bus keeps one Kafka group per (group, topic) so that cannot happen.
    const prefix = uniquePrefix();
    const recorders = [new Recorder(), new Recorder()];
    const buses = [0, 1].map(() => track(makeBus(brokers, database.db, prefix, { partitions: 3 })));
    for (const [i, bus] of buses.entries()) {
      bus.subscribe({ topic: 'analytics', group: 'facts', handler: recorders[i]!.handler });
      bus.subscribe({ topic: 'notifications', group: 'facts', handler: recorders[i]!.handler });
    }
    for (const bus of buses) await bus.start();
    await waitForGroup(brokers, kafkaGroupName(prefix, 'facts', 'analytics'), 2);
    await waitForGroup(brokers, kafkaGroupName(prefix, 'facts', 'notifications'), 2);
    const sent = Array.from({ length: 60 }, (_, i) => ({
      ...message(`k${i}`, { i }),
      topic: i % 2 === 0 ? ('analytics' as const) : ('notifications' as const),
    }));
    await buses[0]!.publish(sent);
    const ids = sent.map((m) => m.id);
    await waitFor(async () => {
      const got = new Set(recorders.flatMap((r) => [...r.handledIds()]));
      return ids.every((id) => got.has(id));
    });
    const handled = recorders.flatMap((r) => r.handled);
    expect(handled.map((m) => m.id).sort()).toEqual([...ids].sort());
    for (const m of handled) expect(m.topic).toBe(sent.find((x) => x.id === m.id)!.topic);
  });

  it('commits only after handling: a failed attempt is delivered again', async () => {
    const bus = track(makeBus(brokers, database.db, uniquePrefix(), { maxHandleAttempts: 5 }));
    const recorder = new Recorder();
    const m = message('k');
    let failures = 1;
    recorder.fail = (x) => x.id === m.id && failures-- > 0;
    bus.subscribe({ topic: 'jobs', group: 'retry', handler: recorder.handler });
    await bus.start();
    await bus.publish([m]);
    await recorder.waitForIds([m.id]);
    expect(recorder.batches.flat().filter((x) => x.id === m.id).length).toBe(2);
  });

  it('a member closed before handling leaves the message to the next member of the group', async () => {
    const prefix = uniquePrefix();
    const first = new Recorder();
    first.fail = () => true;
    // Long backoff: after its first failed attempt the member waits, and is closed meanwhile.
    const a = makeBus(brokers, database.db, prefix, { retryBaseMs: 60_000, retryMaxMs: 60_000 });
    a.subscribe({ topic: 'jobs', group: 'handover', handler: first.handler });
    await a.start();
    const m = message('k');
    await a.publish([m]);
    await waitFor(async () => first.batches.length > 0);
    await a.close();

    const second = new Recorder();
    const b = track(makeBus(brokers, database.db, prefix));
    b.subscribe({ topic: 'jobs', group: 'handover', handler: second.handler });
    await b.start();
    await second.waitForIds([m.id]);
  });

  it('parks a poison message after maxHandleAttempts while the partition moves on, and re-drives it', async () => {
    const bus = track(makeBus(brokers, database.db, uniquePrefix(), { partitions: 1 }));
    const recorder = new Recorder();
    const poison = message('bad', { poison: true });
    let refuse = true;
    recorder.fail = (m) => refuse && m.id === poison.id;
    bus.subscribe({ topic: 'jobs', group: 'poison', handler: recorder.handler });
    await bus.start();
    const before = message('a');
    const after = [message('b'), message('bad'), message('c')];
    await bus.publish([before, poison, ...after]);
    await recorder.waitForIds([before.id, ...after.map((m) => m.id)]);

    const parked = await database.db
      .selectFrom('bus_parked_messages')
      .selectAll()
      .where('consumer_group', '=', 'poison')
      .execute();
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ topic: 'jobs', key: 'bad', event_type: 'TEST', attempts: 3 });
    expect(parked[0]!.error).toContain(poison.id);
    expect(parked[0]!.headers).toMatchObject({ id: poison.id, type: 'TEST' });
    expect(recorder.batches.flat().filter((m) => m.id === poison.id).length).toBe(3);

    const admin = new BusAdminService({ db: database.db, republish: (r) => bus.republish(r) });
    const listed = await admin.listParked({ limit: 10, redriven: false });
    expect(listed.items.map((p) => p.id)).toContain(parked[0]!.id);
    refuse = false;
    const redriven = await admin.redriveParked(parked[0]!.id);
    expect(redriven.redriven_at).not.toBeNull();
    expect(redriven).toMatchObject({ group: 'poison', partition: 0, key: 'bad' });
    await recorder.waitForIds([poison.id]);
    expect(recorder.handled.find((m) => m.id === poison.id)).toEqual(poison);
    expect((await admin.listParked({ limit: 10, redriven: false })).items.map((p) => p.id)).not.toContain(
      parked[0]!.id,
    );
  });

  it('parks undecodable records at once and keeps consuming', async () => {
    const prefix = uniquePrefix();
    const bus = track(makeBus(brokers, database.db, prefix, { partitions: 1 }));
    const recorder = new Recorder();
    bus.subscribe({ topic: 'jobs', group: 'garbage', handler: recorder.handler });
    await bus.start();

    const producer = new Producer({ clientId: 'cv-test-raw', bootstrapBrokers: [brokers] });
    try {
      await producer.send({
        messages: [
          { topic: `${prefix}jobs`, key: Buffer.from('x'), value: Buffer.from('not json {') },
          { topic: `${prefix}jobs`, key: Buffer.from('y'), value: Buffer.from('{"type":"T","payload":{}}') },
        ],
      });
    } finally {
      await producer.close();
    }
    const good = message('z');
    await bus.publish([good]);
    await recorder.waitForIds([good.id]);

    const parked = await database.db
      .selectFrom('bus_parked_messages')
      .selectAll()
      .where('consumer_group', '=', 'garbage')
      .orderBy('kafka_offset')
      .execute();
    expect(parked.map((p) => [p.key, p.attempts, Number(p.kafka_offset)])).toEqual([
      ['x', 0, 0],
      ['y', 0, 1],
    ]);
    expect(parked[0]!.error).toMatch(/^undecodable: value is not JSON/);
    expect(parked[1]!.error).toBe('undecodable: record has no "id" header');
    expect(Buffer.from(parked[0]!.value!).toString()).toBe('not json {');
    expect(recorder.batches.flat().map((m) => m.id)).toEqual([good.id]);
  });
});

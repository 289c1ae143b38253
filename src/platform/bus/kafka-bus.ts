/**
 * The bus of the distributed profile: Apache Kafka through `@platformatic/kafka`.
 *
 * Design note.
 * - Topics: the five outbox topics, prefixed (`<prefix>workflows`, …), created at `start()` with
 *   the configured partitions and replication when missing (kafka-topics.ts). Consumer groups are
 *   prefixed the same way, so installations can share a cluster.
 * - Publish: one idempotent producer (acks=all), records keyed by the message key (same key, same
 *   partition, same order) with the value and headers of kafka-codec.ts. `publish` resolves only
 *   when every record is acknowledged and rejects otherwise: the outbox relay then retries and
 *   finally parks the row as DEAD. After a failure the producer is replaced (fresh producer id
 *   and sequence numbers), so a broken connection or an out-of-order sequence cannot stick.
 * - Consume: one supervised consumer per `subscribe` (kafka-consumer.ts): commit after handling,
 *   retries with backoff, poison messages parked in `bus_parked_messages`, reconnection forever.
 * - Lifecycle: `subscribe` before `start`; `close` drains the batches being handled, commits
 *   them, leaves the groups and closes the producer. Each subscription is its own group member,
 *   so unsubscribing (a consumer's `stop()`) closes that member alone, the same way; a group
 *   cannot be joined again after `start` (subscribe anew on a new bus).
 * A broker outage never throws out of this module except as a rejected `publish`.
 */
import { compatibilityPartitioner, Producer, ProduceAcks } from '@platformatic/kafka';
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';
import type { Logger } from '../logger.ts';
import type { OutboxTopic } from '../../services/outbox.ts';
import { tracedHandler } from './tracing.ts';
import type { Bus, BusHandler, BusMessage, Unsubscribe } from './bus.ts';
import { encodeMessage, OUTBOX_TOPICS } from './kafka-codec.ts';
import { forceClose, KafkaSubscription } from './kafka-consumer.ts';
import { ensureTopics } from './kafka-topics.ts';

export interface KafkaBusOptions {
  /** Bootstrap servers, `host:port` (config `kafka.brokers`, split on commas). */
  brokers: string[];
  clientId: string;
  /** Prefix of every topic and consumer group name. */
  topicPrefix: string;
  partitions: number;
  replicationFactor: number;
  /** Tries per message before it is parked. */
  maxHandleAttempts: number;
  /** Where poison and undecodable messages are parked. */
  db: Kysely<DB>;
  logger: Logger;
  /** First handler retry delay, doubling per attempt up to `retryMaxMs`. @default 500 */
  retryBaseMs?: number;
  /** @default 30000 */
  retryMaxMs?: number;
  /** Messages per handler round. @default 500 */
  maxBatch?: number;
  /** Consumer group session timeout. @default 10000 */
  sessionTimeoutMs?: number;
  /** @default 1000 */
  heartbeatIntervalMs?: number;
  /** Per-request timeout of the producer (a publish to a dead broker fails after its retries). @default 5000 */
  requestTimeoutMs?: number;
}

/** A record exactly as stored by parking, put back on its topic by a redrive. */
export interface RawRecord {
  topic: string;
  key: string;
  value: Buffer | null;
  headers: Record<string, string>;
}

type BufferProducer = Producer<Buffer, Buffer, Buffer, Buffer>;

export class KafkaBus implements Bus {
  readonly #o: KafkaBusOptions;
  readonly #log: Logger;
  readonly #subscriptions = new Map<string, KafkaSubscription>();
  #producer: BufferProducer | null = null;
  #started = false;
  #closed = false;

  constructor(options: KafkaBusOptions) {
    if (options.brokers.length === 0) throw new Error('KafkaBus needs at least one broker');
    this.#o = options;
    this.#log = options.logger.child({ component: 'kafka-bus' });
  }

  /** The Kafka name of a bus topic. */
  topicName(topic: OutboxTopic | string): string {
    return `${this.#o.topicPrefix}${topic}`;
  }

  /** Creates the missing topics (idempotent; several processes may race). */
  async ensureTopics(): Promise<{ created: string[] }> {
    const result = await ensureTopics(
      { brokers: this.#o.brokers, clientId: this.#o.clientId },
      {
        names: OUTBOX_TOPICS.map((t) => this.topicName(t)),
        partitions: this.#o.partitions,
        replicationFactor: this.#o.replicationFactor,
      },
    );
    if (result.created.length > 0) this.#log.info({ created: result.created }, 'kafka topics created');
    return result;
  }

  subscribe(params: { topic: OutboxTopic; group: string; handler: BusHandler }): Unsubscribe {
    if (this.#started) throw new Error('KafkaBus: subscribe before start()');
    const id = `${params.topic}\u0000${params.group}`;
    if (this.#subscriptions.has(id)) {
      throw new Error(`group ${params.group} already subscribed to ${params.topic}`);
    }
    const o = this.#o;
    const subscription = new KafkaSubscription({
      brokers: o.brokers,
      clientId: o.clientId,
      topic: params.topic,
      kafkaTopic: this.topicName(params.topic),
      group: params.group,
      // One Kafka group per (group, topic): a consumer of two topics is two subscriptions, and two
      // consumers sharing a group id but subscribing different topics would be assigned each
      // other's partitions in one rebalance and never read them (seen: a fact never handled).
      kafkaGroup: kafkaGroupName(o.topicPrefix, params.group, params.topic),
      handler: tracedHandler({ system: 'kafka', topic: params.topic, group: params.group }, params.handler),
      db: o.db,
      logger: this.#log,
      maxHandleAttempts: o.maxHandleAttempts,
      retryBaseMs: o.retryBaseMs ?? 500,
      retryMaxMs: o.retryMaxMs ?? 30_000,
      maxBatch: o.maxBatch ?? 500,
      sessionTimeoutMs: o.sessionTimeoutMs ?? 10_000,
      heartbeatIntervalMs: o.heartbeatIntervalMs ?? 1000,
    });
    this.#subscriptions.set(id, subscription);
    return async () => {
      if (this.#subscriptions.get(id) !== subscription) return;
      this.#subscriptions.delete(id);
      // Never started (unsubscribed before start): close only marks it closed.
      await subscription.close();
    };
  }

  /** Ensures the topics, then starts every subscribed consumer. Rejects if the cluster is unreachable. */
  async start(): Promise<void> {
    if (this.#started) return;
    await this.ensureTopics();
    this.#started = true;
    for (const subscription of this.#subscriptions.values()) subscription.start();
  }

  /** Consumer lag of every subscription of this process (kafka-consumer.ts `lag`); unknown ones left out. */
  async lags(): Promise<Array<{ topic: OutboxTopic; group: string; lag: number }>> {
    const entries = [...this.#subscriptions.entries()].map(async ([id, subscription]) => {
      const [topic, group] = id.split('\u0000') as [OutboxTopic, string];
      const lag = await subscription.lag().catch(() => null);
      return lag === null ? null : { topic, group, lag };
    });
    return (await Promise.all(entries)).filter((e) => e !== null);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions.values()].map((s) => s.close()));
    const producer = this.#producer;
    this.#producer = null;
    if (producer) await forceClose(producer);
  }

  async publish(messages: BusMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.#send(
      messages.map((m) => {
        const record = encodeMessage(m);
        return { topic: this.topicName(m.topic), ...record };
      }),
    );
  }

  /** Puts a parked record back on its (bus) topic, bytes unchanged: every group gets it again. */
  async republish(record: RawRecord): Promise<void> {
    const headers = new Map<Buffer, Buffer>();
    for (const [name, value] of Object.entries(record.headers)) {
      headers.set(Buffer.from(name), Buffer.from(value));
    }
    await this.#send([
      {
        topic: this.topicName(record.topic),
        key: Buffer.from(record.key),
        ...(record.value ? { value: record.value } : {}),
        headers,
      },
    ]);
  }

  async #send(
    records: Array<{ topic: string; key: Buffer; value?: Buffer; headers: Map<Buffer, Buffer> }>,
  ): Promise<void> {
    if (this.#closed) throw new Error('KafkaBus is closed');
    const producer = this.#getProducer();
    try {
      await producer.send({ messages: records });
    } catch (err) {
      // Start over with a new producer: its idempotence state may no longer match the broker's.
      if (this.#producer === producer) this.#producer = null;
      void forceClose(producer);
      throw err;
    }
  }

  #getProducer(): BufferProducer {
    if (this.#producer) return this.#producer;
    const producer: BufferProducer = new Producer({
      clientId: `${this.#o.clientId}-producer`,
      bootstrapBrokers: this.#o.brokers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      // Without an explicit count an idempotent producer retries forever; publish must fail.
      retries: 3,
      retryDelay: 250,
      timeout: this.#o.requestTimeoutMs ?? 5000,
      connectTimeout: 3000,
      autocreateTopics: false,
      // The Java client's partitioner: the same key lands where other clients put it.
      partitioner: compatibilityPartitioner,
    });
    producer.on('error', (err: unknown) => {
      this.#log.warn({ err: { message: (err as Error).message } }, 'kafka producer error');
    });
    this.#producer = producer;
    return producer;
  }
}

/** `kafka.brokers` config ("host:9092,host2:9092") as a list. */
export function parseBrokers(brokers: string): string[] {
  return brokers
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
}

/** The Kafka consumer group id of a bus group on one topic, e.g. `chronoverse.notifications.analytics`. */
export function kafkaGroupName(prefix: string, group: string, topic: OutboxTopic): string {
  return `${prefix}${group}.${topic}`;
}

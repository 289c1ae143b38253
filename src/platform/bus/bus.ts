/**
 * The message bus seam. Two implementations: in-process (embedded profile; here) and Kafka
 * (distributed profile; kafka-bus.ts), both fed by the outbox relay. Delivery is at-least-once and
 * in order per key; every handler must be idempotent (redelivery changes nothing). A batch holds
 * at most one message per key, so a handler may apply a batch's messages in any order.
 */
import type { OutboxTopic } from '../../services/outbox.ts';
import { tracedHandler } from './tracing.ts';

export interface BusMessage {
  /** Unique and stable across redeliveries (the outbox row id). */
  id: string;
  topic: OutboxTopic;
  key: string;
  type: string;
  payload: Record<string, unknown>;
  /** Context carried beside the payload (W3C `traceparent`/`tracestate`); Kafka record headers. */
  headers?: Record<string, string>;
}

/** Handles a batch (in key order); throwing means "not handled", and the batch is redelivered. */
export type BusHandler = (messages: BusMessage[]) => Promise<void>;

/** Ends one subscription: resolves once its batch in hand is handled; safe twice. */
export type Unsubscribe = () => Promise<void>;

export interface Bus {
  /**
   * Registers a consumer group on a topic. One handler per (topic, group). Consumers subscribe in
   * their `start()` and call the returned function in their `stop()`.
   */
  subscribe(params: { topic: OutboxTopic; group: string; handler: BusHandler }): Unsubscribe;
  /** Delivers to every group of the topic; resolves once all handled, rejects if any failed. */
  publish(messages: BusMessage[]): Promise<void>;
}

/**
 * In-process bus: publish calls each subscribed group's handler directly. Used in the embedded
 * profile, where the outbox relay is the durable queue: a row is marked published only after every
 * group handled it, so a crash mid-way redelivers it to all groups on restart.
 */
export class InProcessBus implements Bus {
  readonly #groups = new Map<OutboxTopic, Map<string, BusHandler>>();

  subscribe(params: { topic: OutboxTopic; group: string; handler: BusHandler }): Unsubscribe {
    let groups = this.#groups.get(params.topic);
    if (!groups) this.#groups.set(params.topic, (groups = new Map()));
    if (groups.has(params.group))
      throw new Error(`group ${params.group} already subscribed to ${params.topic}`);
    const handler = tracedHandler(
      { system: 'in-process', topic: params.topic, group: params.group },
      params.handler,
    );
    groups.set(params.group, handler);
    const own = groups;
    // A publish in progress still hands its batch to the handler it already picked up.
    return async () => {
      if (own.get(params.group) === handler) own.delete(params.group);
    };
  }

  async publish(messages: BusMessage[]): Promise<void> {
    const byTopic = new Map<OutboxTopic, BusMessage[]>();
    for (const m of messages) {
      const list = byTopic.get(m.topic);
      if (list) list.push(m);
      else byTopic.set(m.topic, [m]);
    }
    const failures: unknown[] = [];
    for (const [topic, batch] of byTopic) {
      for (const handler of this.#groups.get(topic)?.values() ?? []) {
        try {
          await handler(batch);
        } catch (err) {
          failures.push(err);
        }
      }
    }
    if (failures.length > 0) throw failures[0];
  }
}

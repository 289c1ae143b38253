/**
 * Cross-process wake-ups: forwards a whitelist of the process-local `Events` to every other
 * process over one Redis channel (`<prefix>events`) and emits the ones from other processes
 * locally, so that, for example, a gateway's SSE stream hears that an executor elsewhere released
 * a job, and an executor stops a container when a cancel commits in a jobs service elsewhere.
 *
 * - Every message carries the sending bridge's origin id; a bridge ignores its own messages, and
 *   an event it emits locally on behalf of another process is not forwarded again.
 * - `outbox:written` is coalesced: at most one message per `coalesceMs` per process, carrying
 *   the summed count (it only wakes the outbox relays elsewhere, which read the table anyway).
 * - Events emitted in one turn of the event loop go out as one message (`b`: a list of events):
 *   an executor emits claimed/released/finished for every job, and a completion batch resolves
 *   hundreds at once; one PUBLISH each cost every process a message to parse (the anchor bench
 *   profiled 2.2 s of 16.7 s busy in one node on it). A single event (`e`, `p`) is still read,
 *   as older processes send it during a rolling upgrade.
 * - `jobs:runnable` is NOT forwarded: in the distributed profile executors are woken by the
 *   dispatch messages on Kafka; the other process-local events (ticks, batches, lease lost) are
 *   observations of this process only.
 * - Payloads are validated on receipt; a malformed message is ignored (logged at debug).
 *
 * Best effort, by design: a message published while Redis is away, or missed by a subscriber
 * that was reconnecting, is lost. That only delays things: every loop woken by these events also
 * polls the database on its own (the relay, the scheduler, the executor's claim and cancel
 * checks, the SSE re-check every second), and PostgreSQL is the source of truth for all of them.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ChronoverseEventMap, EventName, Events } from '../events.ts';
import type { Logger } from '../logger.ts';
import type { RedisConnection, RedisSubscriber } from './connection.ts';

const id = z.string().min(1).max(200);

/** The forwarded events and the shape each must have on receipt. */
const BRIDGED = {
  'outbox:written': z.object({ count: z.number().int().min(0) }),
  'schedules:changed': z.object({ workflowId: id }),
  'job:cancel-requested': z.object({ jobId: id }),
  'executor:job:claimed': z.object({ jobId: id, workflowId: id, attempt: z.number().int().min(0) }),
  'executor:job:finished': z.object({ jobId: id, status: z.string().min(1).max(50) }),
  'executor:job:released': z.object({ jobId: id }),
  'workflow:build:finished': z.object({ workflowId: id, status: z.enum(['COMPLETED', 'FAILED']) }),
  // Wakes the webhook senders of every notifications process, not only the one that created them.
  'webhooks:deliveries:due': z.object({ count: z.number().int().min(0) }),
  // Likewise the email senders.
  'email:deliveries:due': z.object({ count: z.number().int().min(0) }),
  'notification:created': z.object({ userId: id }),
} as const satisfies { [K in EventName]?: z.ZodType<ChronoverseEventMap[K]> };

export type BridgedEvent = keyof typeof BRIDGED;
export const BRIDGED_EVENTS = Object.keys(BRIDGED) as BridgedEvent[];

const EventSchema = z.object({ e: z.string().max(100), p: z.unknown() });
const EnvelopeSchema = z.union([
  z.object({ o: z.string().min(1).max(100), b: z.array(EventSchema).max(100_000) }),
  EventSchema.extend({ o: z.string().min(1).max(100) }),
]);

export interface EventBridgeConfig {
  /** At most one `outbox:written` message per this many ms per process. @default 5 */
  coalesceMs: number;
}

export class EventBridge {
  /** This bridge's origin id, sent with every message. */
  readonly origin: string;
  readonly channel: string;
  readonly #events: Events;
  readonly #publisher: RedisConnection;
  readonly #subscriber: RedisSubscriber;
  readonly #logger: Logger;
  readonly #config: EventBridgeConfig;
  readonly #cleanup: (() => void)[] = [];
  /** True while emitting a remote event locally: our own listeners must not send it back out. */
  #relaying = false;
  #outboxCount = 0;
  #outboxTimer: NodeJS.Timeout | null = null;
  /** Events of this turn of the event loop, sent together by #flush. */
  #batch: Array<{ e: BridgedEvent; p: unknown }> = [];
  #flushScheduled = false;

  constructor(
    deps: { events: Events; publisher: RedisConnection; subscriber: RedisSubscriber; logger: Logger },
    config: Partial<EventBridgeConfig> = {},
  ) {
    this.#events = deps.events;
    this.#publisher = deps.publisher;
    this.#subscriber = deps.subscriber;
    this.#logger = deps.logger;
    this.#config = { coalesceMs: 5, ...config };
    this.origin = randomUUID();
    this.channel = `${deps.publisher.prefix}events`;
  }

  start(): void {
    if (this.#cleanup.length > 0) return;
    this.#cleanup.push(this.#subscriber.subscribe(this.channel, (message) => this.#receive(message)));
    for (const name of BRIDGED_EVENTS) {
      if (name === 'outbox:written') {
        this.#cleanup.push(
          this.#events.on('outbox:written', (p) => {
            if (!this.#relaying) this.#outboxWritten(p.count);
          }),
        );
      } else {
        this.#cleanup.push(
          this.#events.on(name, (payload) => {
            if (!this.#relaying) this.#send(name, payload);
          }),
        );
      }
    }
  }

  /** Stops forwarding (the connections belong to the caller). A pending outbox wake-up is sent. */
  stop(): void {
    for (const fn of this.#cleanup.splice(0)) fn();
    if (this.#outboxTimer) {
      clearTimeout(this.#outboxTimer);
      this.#outboxTimer = null;
      this.#flushOutbox();
    }
    this.#flush();
  }

  #outboxWritten(count: number): void {
    this.#outboxCount += count;
    this.#outboxTimer ??= setTimeout(() => {
      this.#outboxTimer = null;
      this.#flushOutbox();
    }, this.#config.coalesceMs);
  }

  #flushOutbox(): void {
    const count = this.#outboxCount;
    this.#outboxCount = 0;
    this.#send('outbox:written', { count });
  }

  #send(name: BridgedEvent, payload: unknown): void {
    // Not connected: lost (see the design note); never queued, never thrown into the emitter.
    if (!this.#publisher.ready) return;
    this.#batch.push({ e: name, p: payload });
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#batch;
    this.#batch = [];
    if (batch.length === 0 || !this.#publisher.ready) return;
    let message: string;
    try {
      message = JSON.stringify({ o: this.origin, b: batch });
    } catch {
      return;
    }
    this.#publisher.client.publish(this.channel, message).catch(() => {});
  }

  #receive(message: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(message);
    } catch {
      this.#logger.debug('ignoring a malformed event bridge message');
      return;
    }
    const envelope = EnvelopeSchema.safeParse(raw);
    if (!envelope.success) {
      this.#logger.debug('ignoring a malformed event bridge message');
      return;
    }
    if (envelope.data.o === this.origin) return;
    const events = 'b' in envelope.data ? envelope.data.b : [envelope.data];
    for (const { e, p } of events) this.#emit(e, p);
  }

  #emit(name: string, p: unknown): void {
    if (!Object.hasOwn(BRIDGED, name)) {
      this.#logger.debug({ event: name }, 'ignoring an event bridge message for an event not bridged');
      return;
    }
    const payload = BRIDGED[name as BridgedEvent].safeParse(p);
    if (!payload.success) {
      this.#logger.debug({ event: name }, 'ignoring an event bridge message with a malformed payload');
      return;
    }
    this.#relaying = true;
    try {
      this.#events.emit(name as BridgedEvent, payload.data as never);
    } finally {
      this.#relaying = false;
    }
  }
}

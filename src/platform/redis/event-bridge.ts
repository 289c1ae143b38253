/**
 * Cross-process wake-ups: forwards a whitelist of the process-local `Events` to the other
 * processes that listen to them, over Redis, and emits the ones from other processes locally, so
 * that, for example, a gateway's SSE stream hears that an executor elsewhere released a job, and
 * an executor stops a container when a cancel commits in a jobs service elsewhere.
 *
 * - Interest routing: each bridged event has its own channel (`<prefix>events:<name>`). A bridge
 *   subscribes to a name's channel only while something in its process listens to that name
 *   (`Events.interested`; the bridge itself forwards through `Events.observe`, which does not
 *   count), and publishes a name only while another process is subscribed to it. Before, every
 *   process received and validated every event of every other process: an executor's three
 *   events per job reached every process of the installation, though only a gateway following
 *   that job wants them. Routing by interest saved the anchor harness (two worker processes and
 *   the parent, three runs alternated with the code before) ≈ 5 % of its Node CPU and a quarter
 *   of redis-server's; the distributed profile's idle schedulers had spent half of their busy
 *   time parsing executor events.
 * - Knowing who listens: a bridge that starts listening to a name announces it on
 *   `<prefix>events:interest` once its subscription is confirmed (and again after a reconnect),
 *   and every bridge adds it to the names it publishes at once. Every `interestRefreshMs` a
 *   bridge asks Redis (`PUBSUB NUMSUB`) which channels have subscribers other than itself and
 *   keeps publishing only those; a refresh never drops a name announced after it was sent. A
 *   bridge publishes every name until its first refresh answers, so nothing is missed at start.
 * - A process that stops listening keeps its subscription `lingerMs` longer: SSE followers come
 *   and go, and a subscription per follower would churn.
 * - Every message carries the sending bridge's origin id; a bridge ignores its own messages, and
 *   an event it emits locally on behalf of another process is not forwarded again.
 * - `outbox:written` is coalesced: at most one message per `coalesceMs` per process, carrying
 *   the summed count (it only wakes the outbox relays elsewhere, which read the table anyway).
 * - Events emitted in one turn of the event loop go out as one message per name (`p`: the list of
 *   payloads): an executor emits claimed/released/finished for every job, and a completion batch
 *   resolves hundreds at once.
 * - `jobs:runnable` is NOT forwarded: in the distributed profile executors are woken by the
 *   dispatch messages on Kafka; the other process-local events (ticks, batches, lease lost) are
 *   observations of this process only.
 * - Payloads are validated on receipt; a malformed message is ignored (logged at debug).
 *
 * Best effort, by design: a message published while Redis is away, missed by a subscriber that
 * was reconnecting, or sent before a new listener's announcement arrived, is lost. That only
 * delays things: every loop woken by these events also polls the database on its own (the relay,
 * the scheduler, the executor's claim and cancel checks, the SSE re-check every second), and
 * PostgreSQL is the source of truth for all of them. During a rolling upgrade from a version with
 * one shared channel, old and new processes do not hear each other's wake-ups until all are new.
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

const EnvelopeSchema = z.object({ o: z.string().min(1).max(100), p: z.array(z.unknown()).max(100_000) });
const InterestSchema = z.object({
  o: z.string().min(1).max(100),
  listen: z.array(z.string().max(100)).max(100),
});

export interface EventBridgeConfig {
  /** At most one `outbox:written` message per this many ms per process. @default 5 */
  coalesceMs: number;
  /** How often a bridge asks Redis which events other processes listen to. @default 1000 */
  interestRefreshMs: number;
  /** How long a bridge stays subscribed to an event its process no longer listens to. @default 30000 */
  lingerMs: number;
}

export class EventBridge {
  /** This bridge's origin id, sent with every message. */
  readonly origin: string;
  /** Channel names start with this (`<prefix>events:`). */
  readonly channelPrefix: string;
  readonly #events: Events;
  readonly #publisher: RedisConnection;
  readonly #subscriber: RedisSubscriber;
  readonly #logger: Logger;
  readonly #config: EventBridgeConfig;
  readonly #cleanup: (() => void)[] = [];
  /** True while emitting a remote event locally: our own observer must not send it back out. */
  #relaying = false;
  #outboxCount = 0;
  #outboxTimer: NodeJS.Timeout | null = null;
  /** Events of this turn of the event loop, sent together by #flush. */
  #batch = new Map<BridgedEvent, unknown[]>();
  #flushScheduled = false;
  /** Names another process listens to (all of them until the first refresh answers). */
  readonly #wanted = new Set<BridgedEvent>(BRIDGED_EVENTS);
  /** When another process last announced each name (a refresh sent before it cannot drop it). */
  readonly #announcedAt = new Map<BridgedEvent, number>();
  /** Our subscriptions per name, and those Redis confirmed (NUMSUB counts only those). */
  readonly #listening = new Map<BridgedEvent, () => void>();
  readonly #confirmed = new Set<BridgedEvent>();
  readonly #lingering = new Map<BridgedEvent, NodeJS.Timeout>();
  #refreshTimer: NodeJS.Timeout | null = null;

  constructor(
    deps: { events: Events; publisher: RedisConnection; subscriber: RedisSubscriber; logger: Logger },
    config: Partial<EventBridgeConfig> = {},
  ) {
    this.#events = deps.events;
    this.#publisher = deps.publisher;
    this.#subscriber = deps.subscriber;
    this.#logger = deps.logger;
    this.#config = { coalesceMs: 5, interestRefreshMs: 1_000, lingerMs: 30_000, ...config };
    this.origin = randomUUID();
    this.channelPrefix = `${deps.publisher.prefix}events:`;
  }

  /** The channel of one bridged event. */
  channelOf(name: BridgedEvent): string {
    return `${this.channelPrefix}${name}`;
  }

  /** The channel on which bridges announce what they start listening to. */
  get interestChannel(): string {
    return `${this.channelPrefix}interest`;
  }

  start(): void {
    if (this.#cleanup.length > 0) return;
    this.#cleanup.push(
      this.#subscriber.subscribe(this.interestChannel, (message) => this.#receiveInterest(message)),
      // Every wanted channel is subscribed again by now, also those wanted while Redis was away.
      this.#subscriber.onReconnected(() => {
        for (const name of this.#listening.keys()) this.#confirmed.add(name);
        this.#announce([...this.#listening.keys()]);
      }),
      this.#events.observe((name, payload) => {
        if (!this.#relaying && isBridged(name) && this.#wanted.has(name)) this.#forward(name, payload);
      }),
      this.#events.watchInterest((name, interested) => {
        if (isBridged(name)) this.#interestChanged(name, interested);
      }),
    );
    for (const name of BRIDGED_EVENTS) if (this.#events.interested(name)) this.#listen(name);
    void this.#refresh();
    this.#refreshTimer = setInterval(() => void this.#refresh(), this.#config.interestRefreshMs);
    this.#refreshTimer.unref();
  }

  /** Stops forwarding (the connections belong to the caller). A pending outbox wake-up is sent. */
  stop(): void {
    for (const fn of this.#cleanup.splice(0)) fn();
    if (this.#refreshTimer) clearInterval(this.#refreshTimer);
    this.#refreshTimer = null;
    for (const timer of this.#lingering.values()) clearTimeout(timer);
    this.#lingering.clear();
    for (const unsubscribe of this.#listening.values()) unsubscribe();
    this.#listening.clear();
    this.#confirmed.clear();
    if (this.#outboxTimer) {
      clearTimeout(this.#outboxTimer);
      this.#outboxTimer = null;
      this.#flushOutbox();
    }
    this.#flush();
  }

  /** Whether this bridge publishes `name` now (another process listens to it, as far as it knows). */
  publishes(name: BridgedEvent): boolean {
    return this.#wanted.has(name);
  }

  /** Whether this bridge is subscribed to `name` (its process listens, or did a moment ago). */
  listens(name: BridgedEvent): boolean {
    return this.#listening.has(name);
  }

  #interestChanged(name: BridgedEvent, interested: boolean): void {
    if (interested) {
      this.#listen(name);
      return;
    }
    if (!this.#listening.has(name) || this.#lingering.has(name)) return;
    const timer = setTimeout(() => {
      this.#lingering.delete(name);
      if (this.#events.interested(name)) return;
      this.#listening.get(name)?.();
      this.#listening.delete(name);
      this.#confirmed.delete(name);
    }, this.#config.lingerMs);
    timer.unref();
    this.#lingering.set(name, timer);
  }

  #listen(name: BridgedEvent): void {
    const lingering = this.#lingering.get(name);
    if (lingering) {
      clearTimeout(lingering);
      this.#lingering.delete(name);
    }
    if (this.#listening.has(name)) return;
    const unsubscribe = this.#subscriber.subscribe(
      this.channelOf(name),
      (message) => this.#receive(name, message),
      () => {
        if (this.#listening.get(name) !== unsubscribe) return;
        this.#confirmed.add(name);
        this.#announce([name]);
      },
    );
    this.#listening.set(name, unsubscribe);
  }

  #announce(names: BridgedEvent[]): void {
    if (names.length === 0 || !this.#publisher.ready) return;
    this.#publisher.client
      .publish(this.interestChannel, JSON.stringify({ o: this.origin, listen: names }))
      .catch(() => {});
  }

  #receiveInterest(message: string): void {
    const announcement = InterestSchema.safeParse(parseJson(message));
    if (!announcement.success) {
      this.#logger.debug('ignoring a malformed event bridge announcement');
      return;
    }
    if (announcement.data.o === this.origin) return;
    const now = Date.now();
    for (const name of announcement.data.listen) {
      if (!isBridged(name)) continue;
      this.#wanted.add(name);
      this.#announcedAt.set(name, now);
    }
  }

  /** Asks Redis which channels have subscribers besides this bridge; publishes only those. */
  async #refresh(): Promise<void> {
    if (!this.#publisher.ready) return;
    const sentAt = Date.now();
    let reply: unknown[];
    try {
      reply = (await this.#publisher.client.pubsub(
        'NUMSUB',
        ...BRIDGED_EVENTS.map((name) => this.channelOf(name)),
      )) as unknown[];
    } catch {
      return; // Redis away: keep what we knew
    }
    BRIDGED_EVENTS.forEach((name, i) => {
      const others = Number(reply[2 * i + 1]) - (this.#confirmed.has(name) ? 1 : 0);
      if (others > 0) this.#wanted.add(name);
      else if ((this.#announcedAt.get(name) ?? 0) < sentAt) this.#wanted.delete(name);
    });
  }

  #forward(name: BridgedEvent, payload: unknown): void {
    if (name === 'outbox:written') {
      this.#outboxCount += (payload as { count: number }).count;
      this.#outboxTimer ??= setTimeout(() => {
        this.#outboxTimer = null;
        this.#flushOutbox();
      }, this.#config.coalesceMs);
      return;
    }
    this.#send(name, payload);
  }

  #flushOutbox(): void {
    const count = this.#outboxCount;
    this.#outboxCount = 0;
    this.#send('outbox:written', { count });
  }

  #send(name: BridgedEvent, payload: unknown): void {
    // Not connected: lost (see the design note); never queued, never thrown into the emitter.
    if (!this.#publisher.ready) return;
    const list = this.#batch.get(name);
    if (list) list.push(payload);
    else this.#batch.set(name, [payload]);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#batch;
    this.#batch = new Map();
    if (batch.size === 0 || !this.#publisher.ready) return;
    for (const [name, payloads] of batch) {
      let message: string;
      try {
        message = JSON.stringify({ o: this.origin, p: payloads });
      } catch {
        continue;
      }
      this.#publisher.client.publish(this.channelOf(name), message).catch(() => {});
    }
  }

  #receive(name: BridgedEvent, message: string): void {
    const envelope = EnvelopeSchema.safeParse(parseJson(message));
    if (!envelope.success) {
      this.#logger.debug({ event: name }, 'ignoring a malformed event bridge message');
      return;
    }
    if (envelope.data.o === this.origin) return;
    for (const p of envelope.data.p) {
      const payload = BRIDGED[name].safeParse(p);
      if (!payload.success) {
        this.#logger.debug({ event: name }, 'ignoring an event bridge message with a malformed payload');
        continue;
      }
      this.#relaying = true;
      try {
        this.#events.emit(name, payload.data as never);
      } finally {
        this.#relaying = false;
      }
    }
  }
}

function isBridged(name: string): name is BridgedEvent {
  return Object.hasOwn(BRIDGED, name);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

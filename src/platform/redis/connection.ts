/**
 * Redis connections for the distributed profile (ioredis). PostgreSQL stays the source of truth:
 * everything carried by Redis (live log lines, wake-ups, login counters, caches) is either
 * re-readable from the database or allowed to degrade while Redis is away. So a connection:
 *
 * - reconnects forever, with exponential backoff capped at `maxBackoffMs` (plus jitter);
 * - never crashes the process: ioredis 'error' events are always handled, and the outage is
 *   logged once at warn when it starts and once at info when it ends (not on every retry);
 * - fails commands fast while disconnected (no offline queue, a command timeout): a caller that
 *   cannot reach Redis falls back at once instead of piling up commands for later;
 * - answers `ping()` for readiness probes (true/false, never throws).
 *
 * `RedisConnection` is the command connection, with the configured key prefix applied by ioredis
 * to keys (not to pub/sub channel names: callers prefix those themselves with `prefix`).
 * `RedisSubscriber` is the separate pub/sub connection (a subscribed connection cannot run other
 * commands): it keeps the set of wanted channels itself, subscribes them again after every
 * reconnect, and then calls its `onReconnected` hooks, so that followers re-read what they may
 * have missed while it was away.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.ts';

export interface RedisConnectionOptions {
  /** redis://[user:password@]host:port/db */
  url: string;
  /** Prefix of every key (applied by ioredis) and every channel (applied by the callers). */
  keyPrefix: string;
  /** Shown in CLIENT LIST and in log lines. */
  name: string;
  logger: Logger;
  /** Upper bound of the reconnect delay. @default 2000 */
  maxBackoffMs?: number;
  /** A command not answered within this fails (the caller falls back). @default 2000 */
  commandTimeoutMs?: number;
}

function baseOptions(options: RedisConnectionOptions): RedisOptions {
  const cap = options.maxBackoffMs ?? 2_000;
  return {
    connectionName: options.name,
    // Reconnect forever: 50 ms, 100 ms, 200 ms … up to the cap, plus jitter so that replicas do
    // not all knock at once when Redis comes back.
    retryStrategy: (times) =>
      Math.min(50 * 2 ** Math.min(times - 1, 10), cap) + Math.floor(Math.random() * 50),
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 5_000,
    // Never give up because of an error reply: only a lost connection reconnects.
    reconnectOnError: null,
  };
}

/** Logs an outage once when it starts and once when it ends, whatever ioredis emits between. */
function watchOutages(redis: Redis, options: RedisConnectionOptions, onReady: () => void): void {
  let down = false;
  let everReady = false;
  const logger = options.logger;
  const markDown = (reason: string) => {
    if (down) return;
    down = true;
    logger.warn(
      { redis: options.name, reason },
      everReady ? 'redis connection lost; reconnecting' : 'redis not reachable; retrying',
    );
  };
  redis.on('error', (err: Error) => markDown(err.message));
  redis.on('close', () => {
    if (everReady) markDown('connection closed');
  });
  redis.on('ready', () => {
    if (down) logger.info({ redis: options.name }, 'redis connection restored');
    down = false;
    everReady = true;
    onReady();
  });
}

export class RedisConnection {
  /** The ioredis client: keys are prefixed with `prefix`; commands fail fast while disconnected. */
  readonly client: Redis;
  readonly prefix: string;
  #closed = false;

  constructor(options: RedisConnectionOptions) {
    this.prefix = options.keyPrefix;
    this.client = new Redis(options.url, {
      ...baseOptions(options),
      keyPrefix: options.keyPrefix,
      commandTimeout: options.commandTimeoutMs ?? 2_000,
    });
    watchOutages(this.client, options, () => {});
  }

  /** Connected and able to take commands now. */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** Readiness probe: true when Redis answers PING. Never throws. */
  async ping(): Promise<boolean> {
    if (!this.ready) return false;
    try {
      return (await this.client.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  /** Resolves once connected (or false after `timeoutMs`): for startup and tests. */
  waitReady(timeoutMs = 10_000): Promise<boolean> {
    return waitReady(this.client, timeoutMs);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await closeClient(this.client);
  }
}

export type MessageHandler = (message: string) => void;

export class RedisSubscriber {
  readonly prefix: string;
  readonly #redis: Redis;
  readonly #logger: Logger;
  readonly #handlers = new Map<string, Set<MessageHandler>>();
  readonly #reconnected = new Set<() => void>();
  #closed = false;

  constructor(options: RedisConnectionOptions) {
    this.prefix = options.keyPrefix;
    this.#logger = options.logger;
    // Our own channel set is the truth: ioredis' auto-resubscribe is off so that a channel
    // dropped during an outage is not subscribed again behind our back.
    this.#redis = new Redis(options.url, { ...baseOptions(options), autoResubscribe: false });
    this.#redis.on('message', (channel: string, message: string) => this.#dispatch(channel, message));
    watchOutages(this.#redis, options, () => void this.#resubscribe());
  }

  get ready(): boolean {
    return this.#redis.status === 'ready';
  }

  waitReady(timeoutMs = 10_000): Promise<boolean> {
    return waitReady(this.#redis, timeoutMs);
  }

  /**
   * Calls `handler` with every message of `channel` (a full channel name: the caller adds the
   * prefix). Several handlers of one channel share one Redis subscription; the returned function
   * removes this handler and unsubscribes with the last one. `onSubscribed` runs once Redis has
   * confirmed a subscription this call made; it does not run when the channel already had a
   * handler, nor while the connection is down (`onReconnected` hooks tell when subscriptions are
   * back).
   */
  subscribe(channel: string, handler: MessageHandler, onSubscribed?: () => void): () => void {
    let set = this.#handlers.get(channel);
    if (!set) {
      this.#handlers.set(channel, (set = new Set()));
      // Not ready: the next 'ready' subscribes every wanted channel.
      if (this.ready) {
        this.#redis.subscribe(channel).then(
          () => onSubscribed?.(),
          () => {},
        );
      }
    }
    set.add(handler);
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      set.delete(handler);
      if (set.size > 0 || this.#handlers.get(channel) !== set) return;
      this.#handlers.delete(channel);
      if (this.ready) this.#redis.unsubscribe(channel).catch(() => {});
    };
  }

  /** Channels with at least one handler (one Redis subscription each). */
  get channels(): string[] {
    return [...this.#handlers.keys()];
  }

  /**
   * `hook` runs each time the subscriptions were established again after the connection became
   * ready (a reconnect, or the first connect for channels wanted before it): messages published
   * meanwhile were lost, so followers should re-read from the source of truth.
   */
  onReconnected(hook: () => void): () => void {
    this.#reconnected.add(hook);
    return () => this.#reconnected.delete(hook);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.clear();
    this.#reconnected.clear();
    await closeClient(this.#redis);
  }

  async #resubscribe(): Promise<void> {
    const channels = this.channels;
    if (channels.length === 0) return;
    try {
      await this.#redis.subscribe(...channels);
    } catch (err) {
      // The connection dropped again: the next 'ready' retries.
      this.#logger.debug({ err: { message: (err as Error).message } }, 'redis resubscribe failed');
      return;
    }
    for (const hook of this.#reconnected) {
      try {
        hook();
      } catch (err) {
        this.#logger.warn({ err: { message: (err as Error).message } }, 'redis reconnect hook failed');
      }
    }
  }

  #dispatch(channel: string, message: string): void {
    const set = this.#handlers.get(channel);
    if (!set) {
      // A subscription we no longer want (dropped while a SUBSCRIBE was in flight).
      if (this.ready) this.#redis.unsubscribe(channel).catch(() => {});
      return;
    }
    for (const handler of set) {
      try {
        handler(message);
      } catch (err) {
        this.#logger.warn(
          { err: { message: (err as Error).message }, channel },
          'redis message handler failed',
        );
      }
    }
  }
}

function waitReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.on('ready', onReady);
  });
}

async function closeClient(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through: drop the socket
    }
  }
  redis.disconnect(false);
}

/** A process's Redis: one command connection, one pub/sub connection. */
export interface ProcessRedis {
  connection: RedisConnection;
  subscriber: RedisSubscriber;
  /** Readiness: both connections up and Redis answering. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Opens the process's connections from the `redis` configuration; null when `redis.url` is empty
 * (the embedded profile keeps everything in memory). Connecting happens in the background: the
 * process starts even while Redis is down.
 */
export function openRedis(
  config: { url: string; keyPrefix: string },
  logger: Logger,
  name = 'chronoverse',
): ProcessRedis | null {
  if (!config.url) return null;
  const options = { url: config.url, keyPrefix: config.keyPrefix, logger };
  const connection = new RedisConnection({ ...options, name });
  const subscriber = new RedisSubscriber({ ...options, name: `${name}-sub` });
  return {
    connection,
    subscriber,
    ping: async () => subscriber.ready && (await connection.ping()),
    async close() {
      await subscriber.close();
      await connection.close();
    },
  };
}

/**
 * Live log fan-out across processes: executors publish a job's numbered lines on the channel
 * `<prefix>live:<jobId>`; every gateway replica with followers of that job subscribes to it once
 * (reference counted: N SSE clients of one job on one gateway share one Redis subscription, and
 * a message is parsed once for all of them).
 *
 * At most once, by design: a line published while Redis (or the subscriber connection) is away is
 * lost from the live feed, and `publish` never waits or throws into the executor (it drops the
 * lines when the connection is not ready). Followers recover from the database, where every line
 * was stored before it was published: they re-read a gap as soon as a later line arrives, and
 * `onResync` tells them when the subscription was established again after an outage.
 *
 * Big batches are split into messages of about MAX_MESSAGE_CHARS, in order: Redis disconnects a
 * subscriber whose output buffer exceeds its pub/sub limit (32 MiB by default).
 */
import type { Logger } from '../logger.ts';
import type { LiveLogLine, LiveLogListener, LiveLogs, LiveLogSubscribeOptions } from '../live-logs.ts';
import type { RedisConnection, RedisSubscriber } from './connection.ts';

const MAX_MESSAGE_CHARS = 256 * 1024;

interface Follow {
  listeners: Set<LiveLogListener>;
  resync: Set<() => void>;
  unsubscribe: () => void;
}

export class RedisLiveLogs implements LiveLogs {
  readonly #publisher: RedisConnection;
  readonly #subscriber: RedisSubscriber | null;
  readonly #logger: Logger;
  readonly #follows = new Map<string, Follow>();
  readonly #offReconnected: () => void;
  #dropped = 0;

  /**
   * `publisher`: the process's command connection. `subscriber`: its pub/sub connection; null in
   * a process that only publishes (an executor without a gateway).
   */
  constructor(deps: { publisher: RedisConnection; subscriber: RedisSubscriber | null; logger: Logger }) {
    this.#publisher = deps.publisher;
    this.#subscriber = deps.subscriber;
    this.#logger = deps.logger;
    this.#offReconnected = this.#subscriber?.onReconnected(() => this.#resyncAll()) ?? (() => {});
  }

  channel(jobId: string): string {
    return `${this.#publisher.prefix}live:${jobId}`;
  }

  publish(jobId: string, lines: LiveLogLine[]): void {
    if (lines.length === 0) return;
    if (!this.#publisher.ready) {
      // Followers re-read these from the database; count them for the next log line only.
      if (this.#dropped === 0) this.#logger.debug({ jobId }, 'redis down: live log lines dropped');
      this.#dropped += lines.length;
      return;
    }
    if (this.#dropped > 0) {
      this.#logger.info({ lines: this.#dropped }, 'live log lines dropped while redis was down');
      this.#dropped = 0;
    }
    const channel = this.channel(jobId);
    for (const message of chunks(lines)) {
      this.#publisher.client.publish(channel, message).catch(() => {
        // Lost from the live feed only: the lines are stored.
      });
    }
  }

  subscribe(jobId: string, listener: LiveLogListener, options: LiveLogSubscribeOptions = {}): () => void {
    const subscriber = this.#subscriber;
    if (!subscriber)
      throw new Error('RedisLiveLogs built without a subscriber connection cannot follow jobs');
    let follow = this.#follows.get(jobId);
    if (!follow) {
      const created: Follow = { listeners: new Set(), resync: new Set(), unsubscribe: () => {} };
      created.unsubscribe = subscriber.subscribe(this.channel(jobId), (message) =>
        this.#deliver(jobId, created, message),
      );
      this.#follows.set(jobId, (follow = created));
    }
    const entry = follow;
    // A wrapper per call, so that one listener following twice is removed once per unsubscribe.
    const own: LiveLogListener = (lines) => listener(lines);
    const resync = options.onResync ? () => options.onResync!() : null;
    entry.listeners.add(own);
    if (resync) entry.resync.add(resync);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      entry.listeners.delete(own);
      if (resync) entry.resync.delete(resync);
      if (entry.listeners.size === 0 && this.#follows.get(jobId) === entry) {
        this.#follows.delete(jobId);
        entry.unsubscribe();
      }
    };
  }

  /** Jobs followed here, each one Redis subscription (for tests and metrics). */
  get followedJobs(): number {
    return this.#follows.size;
  }

  /** Stops following (the connections belong to the caller, which closes them). */
  close(): void {
    this.#offReconnected();
    for (const follow of this.#follows.values()) follow.unsubscribe();
    this.#follows.clear();
  }

  #deliver(jobId: string, follow: Follow, message: string): void {
    const lines = parseLines(message);
    if (!lines) {
      this.#logger.warn({ jobId }, 'ignoring a malformed live log message');
      return;
    }
    for (const listener of follow.listeners) {
      try {
        listener(lines);
      } catch {
        // One broken follower must not affect the others.
      }
    }
  }

  #resyncAll(): void {
    for (const follow of this.#follows.values()) {
      for (const hook of follow.resync) {
        try {
          hook();
        } catch {
          // as above
        }
      }
    }
  }
}

/** JSON arrays of lines, each at most about MAX_MESSAGE_CHARS (a single longer line goes alone). */
function* chunks(lines: LiveLogLine[]): Generator<string> {
  let parts: string[] = [];
  let size = 0;
  for (const line of lines) {
    const json = JSON.stringify(line);
    if (parts.length > 0 && size + json.length > MAX_MESSAGE_CHARS) {
      yield `[${parts.join(',')}]`;
      parts = [];
      size = 0;
    }
    parts.push(json);
    size += json.length + 1;
  }
  if (parts.length > 0) yield `[${parts.join(',')}]`;
}

function parseLines(message: string): LiveLogLine[] | null {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length === 0) return null;
  for (const line of value as Record<string, unknown>[]) {
    if (
      typeof line !== 'object' ||
      line === null ||
      !Number.isSafeInteger(line.sequence_num) ||
      (line.stream !== 'stdout' && line.stream !== 'stderr') ||
      typeof line.timestamp !== 'string' ||
      typeof line.message !== 'string'
    ) {
      return null;
    }
  }
  return value as LiveLogLine[];
}

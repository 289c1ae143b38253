/** Shared pieces of the Kafka bus tests: a bus on a unique topic prefix, a recording handler. */
import { randomBytes } from 'node:crypto';
import { Admin } from '@platformatic/kafka';
import type { Kysely } from 'kysely';
import type { BusMessage } from '../../src/platform/bus/bus.ts';
import { KafkaBus, type KafkaBusOptions } from '../../src/platform/bus/kafka-bus.ts';
import type { DB } from '../../src/platform/db/schema.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { waitFor } from '../helpers/fixtures.ts';

export function uniquePrefix(): string {
  return `t${randomBytes(4).toString('hex')}.`;
}

export function makeBus(
  brokers: string,
  db: Kysely<DB>,
  prefix: string,
  overrides: Partial<KafkaBusOptions> = {},
): KafkaBus {
  return new KafkaBus({
    brokers: [brokers],
    clientId: 'cv-test',
    topicPrefix: prefix,
    partitions: 3,
    replicationFactor: 1,
    maxHandleAttempts: 3,
    db,
    logger: createLogger('silent'),
    retryBaseMs: 20,
    retryMaxMs: 200,
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    ...overrides,
  });
}

let seq = 0;
export function message(key: string, payload: Record<string, unknown> = {}, type = 'TEST'): BusMessage {
  seq += 1;
  return { id: `m${seq}-${randomBytes(3).toString('hex')}`, topic: 'jobs', key, type, payload };
}

/** Records every delivery (batch by batch) and lets a test decide what fails. */
export class Recorder {
  /** Every delivery, including the ones that threw. */
  readonly batches: BusMessage[][] = [];
  /** Messages of deliveries that resolved, in order. */
  readonly handled: BusMessage[] = [];
  /** Asked once per message per delivery. */
  fail: (m: BusMessage) => boolean = () => false;

  handler = async (batch: BusMessage[]): Promise<void> => {
    this.batches.push(batch);
    const refused = batch.find((m) => this.fail(m));
    if (refused) throw new Error(`refused ${refused.id}`);
    this.handled.push(...batch);
  };

  handledIds(): Set<string> {
    return new Set(this.handled.map((m) => m.id));
  }

  async waitForIds(ids: readonly string[], timeoutMs = 30_000): Promise<void> {
    await waitFor(async () => {
      const got = this.handledIds();
      return ids.every((id) => got.has(id));
    }, timeoutMs);
  }
}

/** Waits until a consumer group is stable with `members` members. */
export async function waitForGroup(brokers: string, group: string, members: number): Promise<void> {
  const admin = new Admin({ clientId: 'cv-test-admin', bootstrapBrokers: [brokers] });
  try {
    await waitFor(async () => {
      const groups = await admin.describeGroups({ groups: [group] });
      const g = groups.get(group);
      return g !== undefined && g.state === 'STABLE' && g.members.size === members;
    }, 30_000);
  } finally {
    await admin.close();
  }
}

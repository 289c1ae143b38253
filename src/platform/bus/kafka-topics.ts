/**
 * Topic creation at start. Every process may run it at once: a topic that exists (created by an
 * earlier start or by a racing process) is fine, whatever error code the broker chose to say so.
 * Existing topics are never altered (partitions are only ever added by an operator, since adding
 * them moves keys between partitions).
 */
import { Admin } from '@platformatic/kafka';

export interface TopicSpec {
  names: string[];
  partitions: number;
  replicationFactor: number;
}

export async function ensureTopics(
  connection: { brokers: string[]; clientId: string },
  spec: TopicSpec,
): Promise<{ created: string[] }> {
  const admin = new Admin({
    clientId: `${connection.clientId}-admin`,
    bootstrapBrokers: connection.brokers,
    retries: 3,
    retryDelay: 250,
    timeout: 10_000,
    connectTimeout: 3000,
  });
  admin.on('error', () => {}); // errors surface through the calls below
  try {
    const existing = new Set(await admin.listTopics());
    const missing = spec.names.filter((name) => !existing.has(name));
    const created: string[] = [];
    for (const name of missing) {
      try {
        await admin.createTopics({
          topics: [name],
          partitions: spec.partitions,
          replicas: spec.replicationFactor,
        });
        created.push(name);
      } catch (err) {
        // A racing process created it first.
        if (!isAlreadyExists(err)) throw err;
      }
    }
    // Creation is asynchronous in the cluster: wait until every topic has leaders.
    for (let i = 0; i < 100; i++) {
      const metadata = await admin.metadata({ topics: spec.names, forceUpdate: true });
      const ready = spec.names.every((name) => {
        const topic = metadata.topics.get(name);
        return topic !== undefined && topic.partitions.every((p) => p.leader >= 0);
      });
      if (ready) return { created };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`Kafka topics have no leaders yet: ${spec.names.join(', ')}`);
  } finally {
    await admin.close().catch(() => {});
  }
}

function isAlreadyExists(err: unknown): boolean {
  const found = (err as { findBy?: (property: string, value: unknown) => unknown }).findBy?.(
    'apiId',
    'TOPIC_ALREADY_EXISTS',
  );
  return Boolean(found);
}

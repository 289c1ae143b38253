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
    // Creation is asynchronous in the cluster: wait until every topic has leaders. Until then a
    // metadata request may fail outright for a topic this broker does not know yet ("Unknown
    // topic"): that is the same "not yet", retried, not an error (a dozen processes starting on
    // a fresh broker crashed one of them here). 30 s: a loaded 2-core machine took over 10 s.
    let lastError: unknown = null;
    for (let i = 0; i < 300; i++) {
      try {
        const metadata = await admin.metadata({ topics: spec.names, forceUpdate: true });
        const ready = spec.names.every((name) => {
          const topic = metadata.topics.get(name);
          return topic !== undefined && topic.partitions.every((p) => p.leader >= 0);
        });
        if (ready) return { created };
      } catch (err) {
        if (!isNotYetKnown(err)) throw err;
        lastError = err;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`Kafka topics have no leaders yet: ${spec.names.join(', ')}`, { cause: lastError });
  } finally {
    await admin.close().catch(() => {});
  }
}

function isAlreadyExists(err: unknown): boolean {
  return hasApiError(err, 'TOPIC_ALREADY_EXISTS');
}

/**
 * The broker has not caught up with a just-created topic yet. @platformatic/kafka turns the
 * protocol's UNKNOWN_TOPIC_OR_PARTITION of a metadata request into a UserError ("Unknown topic
 * <name>.", code PLT_KFK_USER) that carries no protocol code, so its text is the only tell.
 */
function isNotYetKnown(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return (
    hasApiError(err, 'UNKNOWN_TOPIC_OR_PARTITION') ||
    hasApiError(err, 'LEADER_NOT_AVAILABLE') ||
    (e.code === 'PLT_KFK_USER' && typeof e.message === 'string' && e.message.startsWith('Unknown topic'))
  );
}

function hasApiError(err: unknown, apiId: string): boolean {
  const found = (err as { findBy?: (property: string, value: unknown) => unknown }).findBy?.('apiId', apiId);
  return Boolean(found);
}

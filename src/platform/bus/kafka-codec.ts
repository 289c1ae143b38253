/**
 * Bus messages as Kafka records. The record key is the message key (it picks the partition, so
 * one key stays in one partition, in order); the value is JSON `{"type", "payload"}`; headers
 * carry `id` and `type` (readable without parsing the value) plus the message's own headers
 * (`traceparent`, `tracestate`). Decoding is strict: a record we cannot turn back into a message
 * is reported, never guessed at, and the consumer parks it.
 */
import type { OutboxTopic } from '../../services/outbox.ts';
import type { BusMessage } from './bus.ts';

export const OUTBOX_TOPICS: readonly OutboxTopic[] = [
  'workflows',
  'jobs',
  'job_logs',
  'analytics',
  'notifications',
] as const;

export interface KafkaRecord {
  key: Buffer;
  value: Buffer;
  headers: Map<Buffer, Buffer>;
}

export function encodeMessage(message: BusMessage): KafkaRecord {
  const headers = new Map<Buffer, Buffer>();
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (name === 'id' || name === 'type') continue;
    headers.set(Buffer.from(name), Buffer.from(value));
  }
  headers.set(Buffer.from('id'), Buffer.from(message.id));
  headers.set(Buffer.from('type'), Buffer.from(message.type));
  return {
    key: Buffer.from(message.key),
    value: Buffer.from(JSON.stringify({ type: message.type, payload: message.payload })),
    headers,
  };
}

/** Header names and values as text (the form we store and show). */
export function headersAsText(headers: Map<Buffer | undefined, Buffer | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (name === undefined) continue;
    out[name.toString('utf8')] = value === undefined ? '' : value.toString('utf8');
  }
  return out;
}

export class UndecodableMessageError extends Error {}

/** The message in a record of `topic`; throws UndecodableMessageError when it is not one of ours. */
export function decodeMessage(
  topic: OutboxTopic,
  key: Buffer | undefined,
  value: Buffer | undefined,
  headers: Record<string, string>,
): BusMessage {
  if (value === undefined || value.length === 0) throw new UndecodableMessageError('empty value');
  let body: unknown;
  try {
    body = JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw new UndecodableMessageError(`value is not JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new UndecodableMessageError('value is not a JSON object');
  }
  const { type, payload } = body as { type?: unknown; payload?: unknown };
  if (typeof type !== 'string' || type.length === 0) {
    throw new UndecodableMessageError('value has no "type" string');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new UndecodableMessageError('value has no "payload" object');
  }
  const id = headers.id;
  if (!id) throw new UndecodableMessageError('record has no "id" header');
  const { id: _id, type: _type, ...rest } = headers;
  return {
    id,
    topic,
    key: key?.toString('utf8') ?? '',
    type,
    payload: payload as Record<string, unknown>,
    ...(Object.keys(rest).length > 0 ? { headers: rest } : {}),
  };
}

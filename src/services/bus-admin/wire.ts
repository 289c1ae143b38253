/** Dead outbox rows and parked messages ↔ chronoverse.jobs.v1 bus admin messages. */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type {
  DeadOutboxRow as DeadOutboxRowMessage,
  DeadOutboxRowSchema,
  ParkedMessage as ParkedMessageMessage,
  ParkedMessageSchema,
} from '../../gen/chronoverse/jobs/v1/bus_admin_pb.js';
import {
  fromOptionalTimestamp,
  fromTimestamp,
  required,
  toOptionalTimestamp,
  toTimestamp,
} from '../../platform/rpc/codec.ts';
import type { DeadOutboxRow, ParkedMessage } from './types.ts';

export function deadRowToWire(r: DeadOutboxRow): MessageInitShape<typeof DeadOutboxRowSchema> {
  return {
    id: r.id,
    topic: r.topic,
    key: r.key,
    eventType: r.event_type,
    attempts: r.attempts,
    ...(r.last_error !== null ? { lastError: r.last_error } : {}),
    createdAt: toTimestamp(r.created_at),
  };
}

export function deadRowFromWire(m: DeadOutboxRowMessage | undefined): DeadOutboxRow {
  const r = required(m, 'dead outbox row');
  return {
    id: r.id,
    topic: r.topic,
    key: r.key,
    event_type: r.eventType,
    attempts: r.attempts,
    last_error: r.lastError ?? null,
    created_at: fromTimestamp(r.createdAt),
  };
}

export function parkedToWire(p: ParkedMessage): MessageInitShape<typeof ParkedMessageSchema> {
  return {
    id: p.id,
    topic: p.topic,
    group: p.group,
    partition: p.partition,
    offset: BigInt(p.offset),
    key: p.key,
    ...(p.event_type !== null ? { eventType: p.event_type } : {}),
    error: p.error,
    attempts: p.attempts,
    parkedAt: toTimestamp(p.parked_at),
    redrivenAt: toOptionalTimestamp(p.redriven_at),
  };
}

export function parkedFromWire(m: ParkedMessageMessage | undefined): ParkedMessage {
  const p = required(m, 'parked message');
  return {
    id: p.id,
    topic: p.topic,
    group: p.group,
    partition: p.partition,
    offset: String(p.offset),
    key: p.key,
    event_type: p.eventType ?? null,
    error: p.error,
    attempts: p.attempts,
    parked_at: fromTimestamp(p.parkedAt),
    redriven_at: fromOptionalTimestamp(p.redrivenAt),
  };
}

/** Log lines and options ↔ chronoverse.jobs.v1 logs messages. */
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  LogOrderSchema,
  LogStreamSchema,
  RawFormatSchema,
  type LogLine as LogLineMessage,
  type LogLineSchema,
  type LogSearchHit as HitMessage,
  type LogSearchHitSchema,
} from '../../gen/chronoverse/jobs/v1/logs_pb.js';
import { fromEnum, fromTimestamp, required, toEnum, toTimestamp } from '../../platform/rpc/codec.ts';
import {
  LOG_ORDERS,
  LOG_STREAMS,
  RAW_FORMATS,
  type LogLine,
  type LogOrder,
  type LogSearchHit,
  type LogStream,
  type RawFormat,
} from './service.ts';

export function lineToWire(l: LogLine): MessageInitShape<typeof LogLineSchema> {
  return {
    sequenceNum: BigInt(l.sequence_num),
    stream: toEnum(LogStreamSchema, l.stream),
    timestamp: toTimestamp(l.timestamp),
    message: l.message,
  };
}

export function lineFromWire(m: LogLineMessage | undefined): LogLine {
  const l = required(m, 'log line');
  return {
    sequence_num: Number(l.sequenceNum),
    stream: fromEnum(LogStreamSchema, l.stream, LOG_STREAMS),
    timestamp: fromTimestamp(l.timestamp),
    message: l.message,
  };
}

export function hitToWire(h: LogSearchHit): MessageInitShape<typeof LogSearchHitSchema> {
  return { line: lineToWire(h), highlights: h.highlights.map(([start, end]) => ({ start, end })) };
}

export function hitFromWire(m: HitMessage): LogSearchHit {
  return { ...lineFromWire(m.line), highlights: m.highlights.map((h) => [h.start, h.end]) };
}

export const streamToWire = (s: LogStream | undefined) =>
  s === undefined ? undefined : toEnum(LogStreamSchema, s);
export const streamFromWire = (n: number | undefined) =>
  n === undefined ? undefined : fromEnum(LogStreamSchema, n, LOG_STREAMS);
export const orderToWire = (o: LogOrder) => toEnum(LogOrderSchema, o);
export const orderFromWire = (n: number) => fromEnum(LogOrderSchema, n, LOG_ORDERS);
export const formatToWire = (f: RawFormat) => toEnum(RawFormatSchema, f);
export const formatFromWire = (n: number) => fromEnum(RawFormatSchema, n, RAW_FORMATS);

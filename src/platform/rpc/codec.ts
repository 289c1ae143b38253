/**
 * Small conversions shared by every service's RPC mapping: our `as const` string unions ↔ protobuf
 * enums (by the value's name without its shared prefix, case-insensitively, so `'stdout'` is
 * `LOG_STREAM_STDOUT`), and RFC 3339 strings ↔ google.protobuf.Timestamp (lossless for the
 * millisecond `toISOString()` form every view uses).
 */
import type { DescEnum } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate, type Timestamp } from '@bufbuild/protobuf/wkt';

/** The protobuf number of `value` (a member of `desc` after its prefix); throws on a stranger. */
export function toEnum(desc: DescEnum, value: string): number {
  const upper = value.toUpperCase();
  const found = desc.values.find((v) => v.localName.toUpperCase() === upper);
  if (!found) throw new Error(`${desc.typeName} has no value for "${value}"`);
  return found.number;
}

/** The member of `allowed` that protobuf number `n` of `desc` names; throws on UNSPECIFIED/unknown. */
export function fromEnum<const T extends string>(desc: DescEnum, n: number, allowed: readonly T[]): T {
  const name = desc.value[n]?.localName.toUpperCase();
  const found = allowed.find((a) => a.toUpperCase() === name);
  if (found === undefined) throw new Error(`${desc.typeName} value ${n} is not one of ${allowed.join(', ')}`);
  return found;
}

export function toTimestamp(iso: string): Timestamp {
  return timestampFromDate(new Date(iso));
}

/** An absent timestamp is a JSON null in the API's objects. */
export function toOptionalTimestamp(iso: string | null): Timestamp | undefined {
  return iso === null ? undefined : toTimestamp(iso);
}

export function fromTimestamp(ts: Timestamp | undefined): string {
  if (!ts) throw new Error('a required timestamp is missing');
  return timestampDate(ts).toISOString();
}

export function fromOptionalTimestamp(ts: Timestamp | undefined): string | null {
  return ts ? timestampDate(ts).toISOString() : null;
}

/** A required message field (proto3 makes every message field optional on the wire). */
export function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the response has no ${what}`);
  return value;
}

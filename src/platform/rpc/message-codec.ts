/**
 * Protobuf message ↔ the plain object of a service API (src/services/*∕api.ts), by walking the
 * message's descriptor. One set of conventions replaces the hand mappings each service had (about
 * five per field: proto, init shape, from-wire, to-wire, the client's copy of list filters):
 *
 * - **Names**: the field's name as written in the .proto IS the API key, so protos mirror the API
 *   (snake_case for views; the few camelCase keys of parameter objects, e.g. `afterId`, are written
 *   camelCase in the .proto too). Object keys come out in field declaration order, which is the
 *   order the services build them in (test/rpc/roundtrip.test.ts compares JSON text).
 * - **Absence**: a field with presence (`optional`, a message, a oneof member) that is not set is
 *   `null` — the API's `T | null` — unless marked `[(chronoverse.rpc.v1.omitted) = true]`, where
 *   it is an omitted key or parameter (`key?: T`; a marked repeated field: when empty); oneof members are always omitted when not set
 *   (a union's other arms have no key). `null` and `undefined` both leave a field unset, except
 *   that a JSON document is `"null"` for null.
 * - **Timestamps**: google.protobuf.Timestamp ↔ the `toISOString()` string (lossless for the
 *   millisecond form every view uses), or a JS Date where marked `(chronoverse.rpc.v1.date)`.
 * - **Enums**: the value's name without the enum's shared prefix (`JOB_STATUS_COMPLETED` ↔
 *   `'COMPLETED'`); the zero value (`…_UNSPECIFIED`) is absence. An API value that is lower case
 *   (log streams, quota sources) is a plain string field instead.
 * - **64-bit integers** ↔ number (every count and sequence stays far below 2^53).
 * - **JSON documents**: a `string foo_json` field ↔ the key `foo` holding the parsed value
 *   (payloads, request bodies as received). JSON text rather than google.protobuf.Struct: Struct
 *   turns every number into a double and cannot tell an integer from a float, and a body "as
 *   received" must reach the service's validation unchanged, bad parts included.
 * - repeated ↔ array, map ↔ plain object, nested messages recursively; a message field marked
 *   `(chronoverse.rpc.v1.embed)` spreads its keys into the parent (a view that extends another),
 *   one marked `(chronoverse.rpc.v1.list)` is the list it holds (a list that may be absent).
 * - Results of idempotent calls carry their body as JSON (`body_json`): a replay's body is the
 *   stored answer, sent verbatim, so one form serves both.
 */
import {
  create,
  getOption,
  ScalarType,
  type DescEnum,
  type DescField,
  type DescMessage,
  type MessageShape,
} from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import {
  date as dateOption,
  embed as embedOption,
  list as listOption,
  omitted as omittedOption,
} from '../../gen/chronoverse/rpc/v1/api_pb.js';

type Plain = Record<string, unknown>;
type MessageObject = Record<string, unknown>;

const JSON_SUFFIX = '_json';
const TIMESTAMP = 'google.protobuf.Timestamp';
const LONGS = new Set([
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.SINT64,
  ScalarType.FIXED64,
  ScalarType.SFIXED64,
]);

/** What the conventions above need to know of a field, read once per field (see `traits`). */
interface FieldTraits {
  /** Its API key: the .proto name, without `_json` for a JSON document. */
  key: string;
  json: boolean;
  omitted: boolean;
  date: boolean;
  embed: boolean;
  list: boolean;
}

const traitsOf = new WeakMap<DescField, FieldTraits>();

/**
 * A field's traits, cached: `getOption` decodes the field's options on every call (about 14 µs
 * each, measured), and a message is converted field by field on both ends of every call — 0.57 ms
 * per workflow view, most of it those reads, before this cache.
 */
function traits(field: DescField): FieldTraits {
  let t = traitsOf.get(field);
  if (t === undefined) {
    const json =
      field.fieldKind === 'scalar' && field.scalar === ScalarType.STRING && field.name.endsWith(JSON_SUFFIX);
    t = {
      key: json ? field.name.slice(0, -JSON_SUFFIX.length) : field.name,
      json,
      omitted: getOption(field, omittedOption),
      date: getOption(field, dateOption),
      embed: getOption(field, embedOption),
      list: getOption(field, listOption),
    };
    traitsOf.set(field, t);
  }
  return t;
}

/** The API key of a field: its .proto name, without `_json` for a JSON document. */
export function apiKey(field: DescField): string {
  return traits(field).key;
}

/** The message `desc` holding the values of `value`'s keys (absent keys leave fields unset). */
export function toMessage<Desc extends DescMessage>(desc: Desc, value: Plain): MessageShape<Desc> {
  const init: MessageObject = {};
  for (const field of desc.fields) {
    const t = traits(field);
    const v = t.embed ? value : value[t.key];
    // JSON carries null itself: a body that is JSON `null` reaches the service's validation as null.
    if (v === undefined || (v === null && !t.json)) continue;
    const wire = fieldToWire(field, v);
    if (field.oneof) init[field.oneof.localName] = { case: field.localName, value: wire };
    else init[field.localName] = wire;
  }
  return create(desc, init as never);
}

/** The plain object of message `m` of type `desc`, keys in field order. */
export function fromMessage(desc: DescMessage, m: MessageShape<DescMessage>): Plain {
  const out: Plain = {};
  const msg = m as unknown as MessageObject;
  for (const field of desc.fields) {
    const { key, omitted, embed } = traits(field);
    let wire: unknown;
    if (field.oneof) {
      const arm = msg[field.oneof.localName] as { case?: string; value?: unknown };
      if (arm.case !== field.localName) continue;
      wire = arm.value;
    } else {
      wire = msg[field.localName];
    }
    // A repeated field has no presence: marked omitted, it is an optional key that is never
    // empty when present (a subscription list's `effective`, which has a row per channel).
    if (omitted && Array.isArray(wire) && wire.length === 0) continue;
    const value = wire === undefined ? undefined : fieldFromWire(field, wire);
    if (value !== undefined && embed) Object.assign(out, value);
    else if (value !== undefined) out[key] = value;
    else if (!omitted) out[key] = null;
  }
  return out;
}

/** Each field's value in order, for a request message whose fields are positional parameters. */
export function fieldsOf(desc: DescMessage, m: MessageShape<DescMessage>): unknown[] {
  const plain = fromMessage(desc, m);
  return desc.fields.map((f) => plain[apiKey(f)]);
}

function fieldToWire(field: DescField, v: unknown): unknown {
  switch (field.fieldKind) {
    case 'scalar':
      return traits(field).json ? JSON.stringify(v) : scalarToWire(field.scalar, v);
    case 'enum':
      return enumToWire(field.enum, v);
    case 'message':
      return traits(field).list
        ? create(field.message, {
            [field.message.fields[0]!.localName]: fieldToWire(field.message.fields[0]!, v),
          })
        : messageToWire(field.message, v);
    case 'list':
      return (v as unknown[]).map((item) =>
        field.listKind === 'scalar'
          ? scalarToWire(field.scalar, item)
          : field.listKind === 'enum'
            ? enumToWire(field.enum, item)
            : messageToWire(field.message, item),
      );
    case 'map':
      return Object.fromEntries(
        Object.entries(v as Plain).map(([k, item]) => [
          k,
          field.mapKind === 'scalar'
            ? scalarToWire(field.scalar, item)
            : field.mapKind === 'enum'
              ? enumToWire(field.enum, item)
              : messageToWire(field.message, item),
        ]),
      );
  }
}

/** undefined: absent (an unset field, or an enum's zero value). */
function fieldFromWire(field: DescField, wire: unknown): unknown {
  switch (field.fieldKind) {
    case 'scalar':
      return traits(field).json ? JSON.parse(wire as string) : scalarFromWire(field.scalar, wire);
    case 'enum':
      return enumFromWire(field.enum, wire as number);
    case 'message':
      return traits(field).list
        ? fromMessage(field.message, wire as never)[apiKey(field.message.fields[0]!)]
        : messageFromWire(field.message, wire, traits(field).date);
    case 'list':
      return (wire as unknown[]).map((item) =>
        field.listKind === 'scalar'
          ? scalarFromWire(field.scalar, item)
          : field.listKind === 'enum'
            ? enumFromWire(field.enum, item as number)
            : messageFromWire(field.message, item, traits(field).date),
      );
    case 'map':
      return Object.fromEntries(
        Object.entries(wire as MessageObject).map(([k, item]) => [
          k,
          field.mapKind === 'scalar'
            ? scalarFromWire(field.scalar, item)
            : field.mapKind === 'enum'
              ? enumFromWire(field.enum, item as number)
              : messageFromWire(field.message, item, false),
        ]),
      );
  }
}

function scalarToWire(type: ScalarType, v: unknown): unknown {
  return LONGS.has(type) ? BigInt(v as number) : v;
}

function scalarFromWire(type: ScalarType, wire: unknown): unknown {
  return LONGS.has(type) ? Number(wire) : wire;
}

function enumToWire(desc: DescEnum, v: unknown): number {
  const found = desc.values.find((e) => e.localName === v);
  if (!found) throw new Error(`${desc.typeName} has no value ${String(v)}`);
  return found.number;
}

function enumFromWire(desc: DescEnum, n: number): string | undefined {
  if (n === 0) return undefined;
  const found = desc.value[n];
  if (!found) throw new Error(`${desc.typeName} has no value numbered ${n}`);
  return found.localName;
}

function messageToWire(desc: DescMessage, v: unknown): unknown {
  if (desc.typeName === TIMESTAMP) return timestampFromDate(v instanceof Date ? v : new Date(v as string));
  return toMessage(desc, v as Plain);
}

function messageFromWire(desc: DescMessage, wire: unknown, asDate: boolean): unknown {
  if (desc.typeName === TIMESTAMP) {
    const d = timestampDate(wire as Timestamp);
    return asDate ? d : d.toISOString();
  }
  return fromMessage(desc, wire as MessageShape<DescMessage>);
}

/**
 * Idempotency-Key semantics (api.md): the same key with the same body returns the original
 * response; the same key with a different body is 409; keys live `ttlMs`.
 *
 * The key row is inserted in the same transaction as the work it guards. A concurrent request with
 * the same key blocks on that insert until the first commits, then replays its stored response; if
 * the first fails, its row rolls back with it and the second does the work. Errors are not stored.
 */
import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { IdempotencyMismatchError, ValidationError } from '../domain/errors.ts';
import type { DB } from '../platform/db/schema.ts';

export interface IdempotentResult<T> {
  status: number;
  body: T;
  replayed: boolean;
}

const KEY_SHAPE = /^[\x21-\x7e]{1,255}$/;

export async function runIdempotent<T>(
  db: Kysely<DB>,
  params: {
    userId: string;
    operation: string;
    key: string | undefined;
    request: unknown;
    status: number;
    now: Date;
    ttlMs: number;
  },
  work: (trx: Transaction<DB>) => Promise<T>,
): Promise<IdempotentResult<T>> {
  const { key } = params;
  if (key === undefined) {
    return db
      .transaction()
      .execute(async (trx) => ({ status: params.status, body: await work(trx), replayed: false }));
  }
  if (!KEY_SHAPE.test(key)) {
    throw ValidationError.single('Idempotency-Key', 'must be 1–255 visible ASCII characters');
  }
  const requestHash = hashRequest(params.request);
  const where = { user_id: params.userId, operation: params.operation, key };
  return db.transaction().execute(async (trx) => {
    await trx
      .deleteFrom('idempotency_keys')
      .where('user_id', '=', where.user_id)
      .where('operation', '=', where.operation)
      .where('key', '=', key)
      .where('expires_at', '<=', params.now)
      .execute();
    const claimed = await trx
      .insertInto('idempotency_keys')
      .values({
        ...where,
        request_hash: requestHash,
        response_status: 0,
        response_body: 'null',
        created_at: params.now,
        expires_at: new Date(params.now.getTime() + params.ttlMs),
      })
      .onConflict((oc) => oc.doNothing())
      .returning('key')
      .executeTakeFirst();
    if (!claimed) {
      const prior = await trx
        .selectFrom('idempotency_keys')
        .select(['request_hash', 'response_status', 'response_body'])
        .where('user_id', '=', where.user_id)
        .where('operation', '=', where.operation)
        .where('key', '=', key)
        .executeTakeFirstOrThrow();
      if (prior.request_hash !== requestHash) throw new IdempotencyMismatchError();
      return { status: prior.response_status, body: prior.response_body as T, replayed: true };
    }
    const body = await work(trx);
    await trx
      .updateTable('idempotency_keys')
      .set({ response_status: params.status, response_body: JSON.stringify(body) })
      .where('user_id', '=', where.user_id)
      .where('operation', '=', where.operation)
      .where('key', '=', key)
      .execute();
    return { status: params.status, body, replayed: false };
  });
}

/** SHA-256 of the canonical JSON (object keys sorted at every depth) of the request. */
export function hashRequest(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

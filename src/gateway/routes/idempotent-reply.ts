/** Reading the Idempotency-Key header and answering with a (possibly replayed) stored result. */
import type { FastifyReply } from 'fastify';
import type { IdempotentResult } from '../../services/idempotency.ts';

export function sendIdempotent<T>(reply: FastifyReply, result: IdempotentResult<T>) {
  if (result.replayed) reply.header('idempotent-replayed', 'true');
  return reply.code(result.status).send(result.body);
}

export function idempotencyKey(headers: Record<string, unknown>): string | undefined {
  const key = headers['idempotency-key'];
  return typeof key === 'string' ? key : undefined;
}

/**
 * Fastify validator and serializer compilers for zod schemas. A schema marked `documentOnly`
 * appears in the OpenAPI document but is validated by the handler's domain function instead
 * (workflow bodies, whose per-kind payload rules need the kind and report every field).
 */
import type { FastifySchemaCompiler } from 'fastify';
import type { ZodType } from 'zod';
import { ValidationError } from '../domain/errors.ts';
import { fieldIssuesFromZod, unstorableValues } from '../domain/field-issues.ts';

const DOCUMENT_ONLY = new WeakSet<object>();

export function documentOnly<T extends object>(schema: T): T {
  DOCUMENT_ONLY.add(schema);
  return schema;
}

const CHECKED_PARTS = new Set(['body', 'querystring', 'params']);

export const zodValidatorCompiler: FastifySchemaCompiler<ZodType> = ({ schema, httpPart }) => {
  if (DOCUMENT_ONLY.has(schema)) return (data) => ({ value: data });
  return (data) => {
    if (httpPart === 'body' && (typeof data !== 'object' || data === null || Array.isArray(data))) {
      return { error: ValidationError.single('', 'body must be a JSON object') };
    }
    // Strings PostgreSQL cannot store are named here, whichever part carries them: a NUL in a
    // query filter used to reach the database and come back as an anonymous 400.
    const unstorable = CHECKED_PARTS.has(httpPart ?? '') ? unstorableValues(data) : [];
    const result = schema.safeParse(data);
    if (result.success && unstorable.length === 0) return { value: result.data };
    const issues = result.success ? [] : fieldIssuesFromZod(result.error.issues);
    return { error: new ValidationError([...unstorable, ...issues]) };
  };
};

export const jsonSerializerCompiler = () => (data: unknown) => JSON.stringify(data);

/**
 * Action bodies carry nothing: absent (or JSON null) and `{}` are accepted, anything else is a 400
 * naming the unexpected fields. Called by the route, which declares no body schema: the schema compiler
 * would reject an absent body, and @fastify/swagger documents any declared body as required.
 */
export function assertEmptyBody(body: unknown): void {
  if (body === undefined || body === null) return;
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw ValidationError.single('', 'body must be absent or an empty JSON object');
  }
  const keys = Object.keys(body);
  if (keys.length > 0) {
    throw new ValidationError(keys.map((path) => ({ path, message: 'is not a known field' })));
  }
}

/**
 * Opaque list cursors. Lists are ordered newest first by UUIDv7 id, so a cursor is just the last
 * id of the page: the next page is `id < cursor`. Rows inserted meanwhile have larger ids and can
 * never shift the pages that follow (no skipped or repeated rows).
 */
import { ValidationError } from '../domain/errors.ts';
import { isUuid } from '../platform/ids.ts';

export function encodeCursor(lastId: string): string {
  return Buffer.from(JSON.stringify({ id: lastId })).toString('base64url');
}

/** The id a page continues after; a cursor we did not make is a 400 on `cursor`. */
export function decodeCursor(cursor: string): string {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      typeof value === 'object' &&
      value !== null &&
      'id' in value &&
      typeof value.id === 'string' &&
      isUuid(value.id)
    ) {
      return value.id;
    }
  } catch {
    // fall through
  }
  throw ValidationError.single('cursor', 'is not a cursor returned by this API');
}

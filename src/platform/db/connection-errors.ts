/**
 * Recognises a lost or refused database connection: such an error says nothing about the request
 * or the message being handled, so callers answer 503 (HTTP), retry without counting an attempt
 * (bus consumers), or wait for the database (loops).
 */
/** Lost or refused database connections: class 08, shutdowns (57P0x), socket errors. */
export function isConnectionFailure(e: { code?: string; message?: string } | undefined): boolean {
  const code = e?.code;
  if (typeof code === 'string') {
    if (/^08/.test(code) || /^57P0[1-3]$/.test(code)) return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code))
      return true;
  }
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(
    e?.message ?? '',
  );
}

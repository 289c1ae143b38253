/**
 * The artifact store seam: where the files a job leaves behind are kept. The executor writes
 * through it, the jobs service lists and deletes through it, the gateway streams through it.
 * Two implementations: a directory under DATA_DIR (./directory-store.ts, the embedded default, so
 * `npm start` needs nothing) and any S3-compatible object store (./s3-store.ts). Both pass the one
 * contract suite in test/artifacts/store.conformance.ts.
 *
 * Keys are relative paths of safe segments (`wf/job/1/report.tar`): the store refuses anything
 * else, so a key can never name a file outside the directory store's root.
 *
 * A `put` is all or nothing: a failed or refused upload (too large, stream error) leaves no object
 * under its key, and readers never see a partial one. Objects are written before their database
 * rows, so a crash between the two leaves an object without a row — never a row without its
 * object; such objects are found by `list` and removed by the housekeeping janitor.
 */
import type { Readable } from 'node:stream';

/** What `put` stores: a byte stream (an HTTP body, a container's archive) or a local file. */
export type PutBody = NodeJS.ReadableStream | { file: string };

export interface PutResult {
  /** Bytes stored. */
  size: number;
  /** Lower-case hex SHA-256 of the bytes stored. */
  sha256: string;
}

export interface PutOptions {
  contentType: string;
  /** Refuse (ArtifactTooLargeError, nothing stored) a body longer than this. @default no limit */
  maxBytes?: number;
}

export interface ArtifactStore {
  /** Stores `body` (a stream, or the path of a local file) under `key`, replacing any object there. */
  put(key: string, body: PutBody, options: PutOptions): Promise<PutResult>;
  /** The object's bytes; null when there is none under `key`. */
  get(key: string): Promise<Readable | null>;
  /** Removes these objects; keys without an object are ignored. */
  delete(keys: readonly string[]): Promise<void>;
  /**
   * A URL that downloads the object without our credentials, valid for `ttlSeconds`; null when
   * the store has no such URLs (the directory store: the gateway streams the file itself, behind
   * the same authorization).
   */
  downloadUrl(key: string, ttlSeconds: number): Promise<string | null>;
  /** Every key under `prefix` ('' for all) with its last change (for the janitor). */
  list(prefix: string): AsyncIterable<{ key: string; modifiedAt: Date }>;
  /**
   * Removes what puts interrupted by a crash left before `olderThan` (never visible under a key:
   * the directory store's temporary files, S3's unfinished multipart uploads); returns how many.
   * Optional: a store whose puts leave nothing behind has none.
   */
  sweepIncomplete?(olderThan: Date): Promise<number>;
}

/** A body went over its byte limit; nothing was stored. */
export class ArtifactTooLargeError extends Error {
  readonly code = 'CV_ARTIFACT_TOO_LARGE';
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super(`is larger than ${maxBytes} bytes`);
    this.maxBytes = maxBytes;
  }
}

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** Throws unless `key` is 1–16 safe segments separated by `/` (no `..`, no leading `/`). */
export function assertKey(key: string): void {
  const segments = key.split('/');
  if (segments.length > 16 || !segments.every((s) => SEGMENT.test(s))) {
    throw new Error(`invalid artifact key ${JSON.stringify(key)}`);
  }
}

/** A key prefix for `list`: '' or safe segments ending with `/`. */
export function assertPrefix(prefix: string): void {
  if (prefix === '') return;
  if (!prefix.endsWith('/')) throw new Error(`invalid artifact key prefix ${JSON.stringify(prefix)}`);
  assertKey(prefix.slice(0, -1));
}

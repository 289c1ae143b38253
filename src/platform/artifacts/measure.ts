/**
 * The byte count and SHA-256 of a body on its way to a store, and its byte limit: both stores put
 * the body through this one transform, so they agree on size and hash and refuse the same bodies.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ArtifactTooLargeError, type PutResult } from './store.ts';

export class Measure extends Transform {
  readonly #hash = createHash('sha256');
  readonly #maxBytes: number;
  #size = 0;

  constructor(maxBytes = Number.POSITIVE_INFINITY) {
    super();
    this.#maxBytes = maxBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#size += chunk.length;
    // Stop at the first byte over: the rest of a huge body is never read.
    if (this.#size > this.#maxBytes) return done(new ArtifactTooLargeError(this.#maxBytes));
    this.#hash.update(chunk);
    done(null, chunk);
  }

  /** Valid once the stream has ended. */
  result(): PutResult {
    return { size: this.#size, sha256: this.#hash.copy().digest('hex') };
  }
}

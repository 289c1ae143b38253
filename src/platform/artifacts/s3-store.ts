/**
 * ArtifactStore on an S3-compatible object store (AWS S3, MinIO, Ceph, S3Mock in tests).
 *
 * Uploads go through lib-storage's `Upload`: one PutObject for a small body, a multipart upload
 * in `PART_SIZE` parts otherwise, with at most `QUEUE_SIZE` parts in memory at once. S3 only
 * shows an object once its PutObject or CompleteMultipartUpload succeeds, so a crash mid-upload
 * leaves no object under the key, only an unfinished multipart upload whose parts the bucket keeps
 * (and bills) until it is aborted: `sweepIncomplete` (the housekeeping janitor) aborts those
 * started before a cutoff, as a bucket lifecycle rule `AbortIncompleteMultipartUpload` would. A
 * body over its limit aborts its upload at once.
 *
 * Download URLs are presigned GETs (SigV4 query parameters: X-Amz-Expires is the TTL), built
 * locally without a request: anyone holding one may read that one object until it expires.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  NoSuchKey,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { Measure } from './measure.ts';
import {
  assertKey,
  assertPrefix,
  type ArtifactStore,
  type PutBody,
  type PutOptions,
  type PutResult,
} from './store.ts';

/** 8 MiB parts (S3's minimum is 5 MiB): a 1 GiB artifact is 128 parts, two in flight at a time. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;
/** DeleteObjects takes at most 1,000 keys per request. */
const DELETE_BATCH = 1000;

export interface S3StoreConfig {
  /** http(s)://host:port of an S3-compatible server; empty: AWS's endpoint for the region. */
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Address buckets as host/bucket instead of bucket.host (MinIO, S3Mock). */
  forcePathStyle: boolean;
}

export class S3ArtifactStore implements ArtifactStore {
  readonly #client: S3Client;
  readonly #bucket: string;

  constructor(config: S3StoreConfig) {
    this.#bucket = config.bucket;
    this.#client = new S3Client({
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      ...(config.endpoint !== '' ? { endpoint: config.endpoint } : {}),
      // Empty keys: the SDK's default chain (environment, instance role, …).
      ...(config.accessKeyId !== ''
        ? { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } }
        : {}),
    });
  }

  async put(key: string, body: PutBody, options: PutOptions): Promise<PutResult> {
    assertKey(key);
    const source: NodeJS.ReadableStream = 'file' in body ? createReadStream(body.file) : body;
    const measure = new Measure(options.maxBytes);
    const upload = new Upload({
      client: this.#client,
      params: { Bucket: this.#bucket, Key: key, Body: measure, ContentType: options.contentType },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
    });
    // The source's and the limit's errors abort the upload; `done` then rejects.
    let failure: unknown = null;
    const fail = (err: unknown) => {
      failure ??= err;
      void upload.abort().catch(() => {});
      // Stop reading the source (a container's archive stream, a file) at once.
      if (source instanceof Readable) source.destroy();
    };
    source.on('error', (err: Error) => {
      fail(err);
      measure.destroy(err);
    });
    measure.on('error', fail);
    source.pipe(measure);
    try {
      await upload.done();
    } catch (err) {
      throw failure ?? err;
    }
    if (failure) throw failure;
    return measure.result();
  }

  async get(key: string): Promise<Readable | null> {
    assertKey(key);
    try {
      const res = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      return res.Body instanceof Readable ? res.Body : null;
    } catch (err) {
      if (err instanceof NoSuchKey) return null;
      throw err;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) assertKey(key);
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const res = await this.#client.send(
        new DeleteObjectsCommand({
          Bucket: this.#bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        throw new Error(
          `S3 refused to delete ${failed.length} object(s): ${failed[0]!.Key}: ${failed[0]!.Code} ${failed[0]!.Message ?? ''}`,
        );
      }
    }
  }

  async downloadUrl(key: string, ttlSeconds: number): Promise<string> {
    assertKey(key);
    return getSignedUrl(this.#client, new GetObjectCommand({ Bucket: this.#bucket, Key: key }), {
      expiresIn: ttlSeconds,
    });
  }

  async *list(prefix: string): AsyncIterable<{ key: string; modifiedAt: Date }> {
    assertPrefix(prefix);
    let token: string | undefined;
    do {
      const res = await this.#client.send(
        new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of res.Contents ?? []) {
        if (o.Key !== undefined) yield { key: o.Key, modifiedAt: o.LastModified ?? new Date(0) };
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** Aborts the multipart uploads started before `olderThan` (left by a crash); returns how many. */
  async sweepIncomplete(olderThan: Date): Promise<number> {
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const res = await this.#client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.#bucket,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
      for (const u of res.Uploads ?? []) {
        if (u.Key === undefined || u.UploadId === undefined) continue;
        if (u.Initiated !== undefined && u.Initiated >= olderThan) continue;
        await this.#client.send(
          new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: u.Key, UploadId: u.UploadId }),
        );
        aborted++;
      }
      if (!res.IsTruncated) return aborted;
      keyMarker = res.NextKeyMarker;
      uploadIdMarker = res.NextUploadIdMarker;
    }
  }

  /** Closes the client's sockets. */
  destroy(): void {
    this.#client.destroy();
  }
}

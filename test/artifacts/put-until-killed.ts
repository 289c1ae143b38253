/**
 * A process that uploads an endless body into an artifact store until it is killed (for the
 * kill -9 tests): `node put-until-killed.ts <store config JSON> <key>`, where the config is
 * `{ "dir": … }` or an S3StoreConfig. Prints `uploading` once 12 MiB are on their way (more than
 * one 8 MiB multipart part), then keeps going slowly.
 */
import { Readable } from 'node:stream';
import { DirectoryArtifactStore } from '../../src/platform/artifacts/directory-store.ts';
import { S3ArtifactStore, type S3StoreConfig } from '../../src/platform/artifacts/s3-store.ts';

const [configJson, key] = process.argv.slice(2) as [string, string];
const config = JSON.parse(configJson) as { dir: string } | S3StoreConfig;
const store = 'dir' in config ? new DirectoryArtifactStore(config.dir) : new S3ArtifactStore(config);

const chunk = Buffer.alloc(64 * 1024, 7);
let sent = 0;
let told = false;
const body = new Readable({
  read() {
    sent += chunk.length;
    if (!told && sent >= 12 * 1024 * 1024) {
      told = true;
      process.stdout.write('uploading\n');
    }
    // Fast up to the signal, then a trickle: the test kills the process mid-upload.
    if (told) setTimeout(() => this.push(chunk), 50);
    else this.push(chunk);
  },
});
await store.put(key, body, { contentType: 'application/octet-stream' });
process.stdout.write('finished\n');

/** The artifact store the configuration names: S3 when a bucket is set, else a local directory. */
import { dirname, join } from 'node:path';
import type { Config } from '../../config/schema.ts';
import { DirectoryArtifactStore } from './directory-store.ts';
import type { ArtifactStore } from './store.ts';

export async function openArtifactStore(
  config: Config['artifacts'],
  dataDir: string,
): Promise<ArtifactStore> {
  if (config.s3Bucket !== '') {
    // Imported when used: the AWS SDK adds to the start time of every process otherwise.
    const { S3ArtifactStore } = await import('./s3-store.ts');
    return new S3ArtifactStore({
      endpoint: config.s3Endpoint,
      bucket: config.s3Bucket,
      region: config.s3Region,
      accessKeyId: config.s3AccessKeyId,
      secretAccessKey: config.s3SecretAccessKey,
      forcePathStyle: config.s3ForcePathStyle,
    });
  }
  return new DirectoryArtifactStore(artifactsDir(config.dir, dataDir));
}

/**
 * CHRONOVERSE_ARTIFACTS_DIR, or `artifacts` beside DATA_DIR: not inside it, because DATA_DIR is
 * PGlite's own PostgreSQL data directory. An in-memory database (memory://) has no directory to
 * sit beside, so its artifacts go to the default place.
 */
export function artifactsDir(dir: string, dataDir: string): string {
  if (dir !== '') return dir;
  const base = dataDir.startsWith('memory://') ? './.chronoverse/data' : dataDir;
  return join(dirname(base), 'artifacts');
}

/** Runs test/artifacts/put-until-killed.ts and kills it with SIGKILL once its upload is under way. */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = join(dirname(fileURLToPath(import.meta.url)), 'put-until-killed.ts');

export async function killDuringPut(
  config: unknown,
  key: string,
  ready?: () => Promise<boolean>,
): Promise<void> {
  const child = spawn(process.execPath, [script, JSON.stringify(config), key], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, signal) => resolve(signal)),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('uploading')) resolve();
      if (d.toString().includes('finished')) reject(new Error('the upload finished before the kill'));
    });
    child.once('exit', (code) =>
      reject(new Error(`the uploader exited (${code}) before uploading: ${stderr}`)),
    );
  });
  // Until the caller sees the upload on the store's side (S3: the multipart upload exists).
  for (let i = 0; ready && !(await ready()); i++) {
    if (i >= 200) throw new Error('the upload never showed on the store');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  if ((await exited) !== 'SIGKILL') throw new Error('the uploader was not killed');
}

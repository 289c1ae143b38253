/**
 * The committed src/gen matches the .proto files: regenerates with buf and the local
 * protoc-gen-es (offline: no remote plugins or dependencies) into a temp dir and compares.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const out = mkdtempSync(path.join(tmpdir(), 'cv-codegen-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

it('src/gen is what `buf generate` makes from proto/', () => {
  const bin = path.join(root, 'node_modules/.bin');
  // buf comes from npm through scripts/buf.sh (pinned; see there why it is no dev dependency).
  execFileSync('bash', [path.join(root, 'scripts/buf.sh'), 'generate', '--output', out], {
    cwd: root,
    env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` },
    stdio: 'pipe',
  });
  const generated = path.join(out, 'src/gen');
  const committed = path.join(root, 'src/gen');
  expect(files(generated)).toEqual(files(committed));
  for (const f of files(committed)) {
    expect(readFileSync(path.join(generated, f), 'utf8'), f).toBe(
      readFileSync(path.join(committed, f), 'utf8'),
    );
  }
}, 180_000);

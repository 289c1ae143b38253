/**
 * Browser tests drive Debian's Chromium (`apt-get install chromium`, scripts/test-ci.sh) through
 * playwright-core: never a downloaded browser. Also builds the dashboard once when web/dist is
 * missing, and names a folder for screenshots under test-artifacts/.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (scripts/test-ci.sh does)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

export const WEB_DIST = path.resolve('web/dist');

/** Runs `npm run build` unless web/dist/index.html exists (CI builds from a clean clone). */
export async function ensureDashboardBuilt(): Promise<void> {
  if (existsSync(path.join(WEB_DIST, 'index.html'))) return;
  await new Promise<void>((resolve, reject) => {
    const child = spawn('npm', ['run', 'build'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`npm run build exited ${code}:\n${output}`)),
    );
  });
}

/** test-artifacts/<name>/<timestamp>/, created. */
export async function artifactsDir(name: string): Promise<string> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = path.resolve('test-artifacts', name, stamp);
  await mkdir(dir, { recursive: true });
  return dir;
}

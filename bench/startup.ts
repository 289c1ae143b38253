/**
 * Cold start and idle memory of `chronoverse start` (embedded profile).
 *
 *   node bench/startup.ts [runs=3]
 *
 * Prints, per run: time from spawn to the "up" log line with a new data directory (first start:
 * PGlite init + migrations) and with an existing one (restart), and the RSS after 5 s idle.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const MAIN = path.resolve(import.meta.dirname, '../src/cli/main.ts');
const runs = Number(process.argv[2] ?? 3);

async function startOnce(dataDir: string): Promise<{ ms: number; rssMb: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [MAIN, 'start'], {
    env: { PATH: process.env.PATH, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' },
  });
  const ms = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Chronoverse is up')) resolve(performance.now() - t0);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}`)));
  });
  await new Promise((r) => setTimeout(r, 5_000));
  const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  await new Promise<void>((resolve) => {
    child.on('exit', () => resolve());
    child.kill('SIGTERM');
  });
  return { ms, rssMb: rssKb / 1024 };
}

const rows: string[] = [];
for (let i = 0; i < runs; i++) {
  const dir = await mkdtemp(path.join(tmpdir(), 'cv-bench-start-'));
  const data = path.join(dir, 'data');
  const first = await startOnce(data);
  const again = await startOnce(data);
  rows.push(
    `run ${i + 1}: first start ${first.ms.toFixed(0)} ms (idle RSS ${first.rssMb.toFixed(0)} MiB), ` +
      `restart ${again.ms.toFixed(0)} ms (idle RSS ${again.rssMb.toFixed(0)} MiB)`,
  );
  await rm(dir, { recursive: true, force: true });
}
console.log(`node ${process.version}, ${runs} runs\n${rows.join('\n')}`);

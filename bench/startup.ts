/**
 * Start time and memory of `chronoverse start` in the embedded profile (PGlite, every role, the
 * gateway), as `npm start` runs it minus npm itself and its prestart dashboard check.
 *
 *   node bench/startup.ts [runs=3] [idleSeconds=30]
 *
 * Per run, on a new temporary DATA_DIR and a free port:
 *   - cold start: spawn → first 200 from GET /healthz (PGlite initdb + migrations), and the CPU
 *     time the server used until then (steadier than wall time when other work shares the cores);
 *   - peak RSS of the first start (VmHWM), idle RSS after `idleSeconds` (VmRSS);
 *   - restart on the same directory after a SIGTERM: spawn → healthy, its peak and idle RSS.
 * Then the median of each figure over the runs. Extra node flags (e.g. --cpu-prof) go through
 * BENCH_NODE_FLAGS; extra environment for the server through the normal environment is NOT passed
 * on (the server sees PATH, DATA_DIR, PORT, LOG_LEVEL and BENCH_ENV's `K=V,K=V` only).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const MAIN = path.resolve(import.meta.dirname, '../src/cli/main.ts');
const runs = Number(process.argv[2] ?? 3);
const idleSeconds = Number(process.argv[3] ?? 30);
// The node flags of `npm start` (package.json), then BENCH_NODE_FLAGS (e.g. --cpu-prof).
const pkg = JSON.parse(await readFile(path.resolve(import.meta.dirname, '../package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};
const startFlags = (
  /^node ((?:--\S+ )*)src\/cli\/main\.ts start$/.exec(pkg.scripts.start!)?.[1] ?? ''
).trim();
const nodeFlags = [startFlags, process.env.BENCH_NODE_FLAGS ?? ''].join(' ').split(' ').filter(Boolean);
const extraEnv = Object.fromEntries(
  (process.env.BENCH_ENV ?? '')
    .split(',')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);

interface Figures {
  healthyMs: number;
  /** CPU time (user + system, all threads) the server used until healthy: steadier than the
   * wall time on a shared machine. */
  cpuMs: number;
  peakMb: number;
  idleMb: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function memoryMb(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** utime + stime of a process, in ms (clock ticks of 10 ms). */
async function cpuMsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function startOnce(dataDir: string): Promise<Figures> {
  const port = await freePort();
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags, MAIN, 'start'], {
    env: {
      PATH: process.env.PATH,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.on('exit', () => ((exited = true), resolve())));
  let healthyMs = NaN;
  while (!exited) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) {
      healthyMs = performance.now() - t0;
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (exited) throw new Error(`the server exited with ${child.exitCode} before it was healthy`);
  const cpuMs = await cpuMsOf(child.pid!);
  const atHealthy = await memoryMb(child.pid!);
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const idle = await memoryMb(child.pid!);
  child.kill('SIGTERM');
  await exit;
  if (child.exitCode !== 0) throw new Error(`the server exited with ${child.exitCode} on SIGTERM`);
  return { healthyMs, cpuMs, peakMb: Math.max(atHealthy.hwm, idle.hwm), idleMb: idle.rss };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (f: Figures) =>
  `${f.healthyMs.toFixed(0)} ms to healthy (${f.cpuMs.toFixed(0)} ms CPU), peak RSS ${f.peakMb.toFixed(0)} MiB, idle RSS ${f.idleMb.toFixed(0)} MiB`;

const firsts: Figures[] = [];
const agains: Figures[] = [];
for (let i = 0; i < runs; i++) {
  const dir = await mkdtemp(path.join(tmpdir(), 'cv-bench-start-'));
  const data = path.join(dir, 'data');
  try {
    const first = await startOnce(data);
    const again = await startOnce(data);
    firsts.push(first);
    agains.push(again);
    console.log(`run ${i + 1}: cold start ${fmt(first)}\n       restart    ${fmt(again)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
const med = (fs: Figures[]): Figures => ({
  healthyMs: median(fs.map((f) => f.healthyMs)),
  cpuMs: median(fs.map((f) => f.cpuMs)),
  peakMb: median(fs.map((f) => f.peakMb)),
  idleMb: median(fs.map((f) => f.idleMb)),
});
console.log(
  `node ${process.version} ${nodeFlags.join(' ')}, ${runs} runs, idle ${idleSeconds} s, medians:\n` +
    `  cold start: ${fmt(med(firsts))}\n  restart:    ${fmt(med(agains))}`,
);

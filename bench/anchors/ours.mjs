// Chronoverse adapter for the shared anchor harness (../shared/bench-anchors/harness.mjs).
//
//   ADAPTERS_DIR=bench/anchors RUNS="graphile-worker:tuned pg-boss:tuned bullmq:tuned ours:default" \
//     bash ../shared/bench-anchors/run-all.sh
//
// run-all.sh copies this file beside harness.mjs in its own app folder and runs it with the Node 24
// it installed there (the same major as the project's `node` dev dependency, so the project's .ts
// sources load through Node's type stripping); the project is found through ADAPTERS_DIR. The
// wiring lives in engine-node.ts next to this file (typechecked with the project): one harness job
// = one `once` HEARTBEAT workflow carrying the job's data in its endpoint's query string, run by
// the real scheduler, outbox relay, executor and workflow worker; see the note at its top.
//
// DB: database anchors_ours on the harness's PostgreSQL ($PGPORT, dropped, created and migrated by
// setup; $OURS_DATABASE_URL overrides); Redis: the harness's ($REDIS_PORT), for the event bridge.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { runIfMain } from './harness.mjs';

const dir = process.env.ADAPTERS_DIR || fileURLToPath(new URL('.', import.meta.url));
const engine = await import(pathToFileURL(join(dir, 'engine-node.ts')).href);

const adapter = {
  name: 'ours',
  configs: {
    // What `npm start` resolves with DATABASE_URL and REDIS_URL set and nothing else: 256
    // heartbeat slots per executor, lease 30 s, claim poll 1 s, scheduler batch 1000 (wakes on schedules:changed,
    // else at the earliest next_run_at, at most 1 s later), relay batch 500, pool 10 per process.
    default: { env: {} },
    // The slot count the issue measured the burst with (a knob, not the default).
    c64: { env: { CHRONOVERSE_EXECUTOR_HEARTBEAT_CONCURRENCY: '64' } },
  },

  async setup(cfg) {
    // Chosen here, read by the workers: the harness forks them after setup with this environment.
    process.env.OURS_TARGET_PORT = String(await engine.freePort());
    process.env.OURS_REDIS_PREFIX = `cv-anchors-${process.pid}-${Date.now()}:`;
    return { api: await engine.openApi(engine.siteFromEnv(process.env), withTrace(cfg.env)) };
  },
  async enqueueBatch({ api }, cfg, items) {
    await api.enqueue(items);
  },
  async addOne({ api }, cfg, data) {
    await api.enqueue([{ data }]);
  },
  async pending({ api }) {
    return api.pending();
  },
  async purge({ api }) {
    await api.purge();
  },
  async close({ api }) {
    await api.close();
  },

  async startWorker(cfg, onJob) {
    return engine.startEngineNode(engine.siteFromEnv(process.env), withTrace(cfg.env), onJob);
  },
};

/** OURS_TRACE=1 splits the pickup by stage (engine-node.ts PickupTrace; printed to stderr). */
function withTrace(env) {
  return process.env.OURS_TRACE === '1' ? { ...env, OURS_TRACE: '1' } : env;
}

runIfMain(adapter, import.meta.url);

/**
 * Counts the statements a benchmark sends and the client-side time they take, by statement text
 * (first 60 characters), printed at exit, most time first. Where the per-job figures of
 * docs/performance.md ("Where a job's time goes") come from:
 *
 *   node --import ./bench/count-queries.mjs bench/engine.ts throughput 20000 20000
 *
 * Client-side time includes the round trip and waiting for the server, not queueing for a pool
 * connection. Measures only; changes nothing the benchmark does.
 */
import pg from 'pg';

const counts = new Map();
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (q, ...rest) {
  const text = typeof q === 'string' ? q : (q?.text ?? '?');
  const key = text.replace(/\s+/g, ' ').trim().slice(0, 60);
  const started = performance.now();
  const record = () => {
    const c = counts.get(key) ?? { n: 0, ms: 0 };
    c.n += 1;
    c.ms += performance.now() - started;
    counts.set(key, c);
  };
  const result = query.call(this, q, ...rest);
  if (result && typeof result.then === 'function') {
    return result.then(
      (r) => (record(), r),
      (err) => {
        record();
        throw err;
      },
    );
  }
  return result;
};
process.on('exit', () => {
  console.error('statements: count, total ms, ms each, text');
  for (const [key, { n, ms }] of [...counts].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15)) {
    console.error(String(n).padStart(7), ms.toFixed(0).padStart(8), (ms / n).toFixed(2).padStart(7), key);
  }
});

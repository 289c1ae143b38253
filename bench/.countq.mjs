import pg from 'pg';
const counts = new Map();
const orig = pg.Client.prototype.query;
pg.Client.prototype.query = function (q, ...rest) {
  const text = typeof q === 'string' ? q : q?.text ?? '?';
  const k = text.replace(/\s+/g, ' ').trim().slice(0, 60);
  const t0 = performance.now();
  const r = orig.call(this, q, ...rest);
  const rec = (x) => { const c = counts.get(k) || [0, 0]; c[0]++; c[1] += performance.now() - t0; counts.set(k, c); return x; };
  if (r && typeof r.then === 'function') return r.then(rec, (e) => { rec(); throw e; });
  return r;
};
process.on('exit', () => {
  const all = [...counts].sort((a, b) => b[1][1] - a[1][1]);
  for (const [k, [n, ms]] of all.slice(0, 14)) console.error(String(n).padStart(6), (ms).toFixed(0).padStart(7), 'ms', (ms / n).toFixed(2).padStart(6), k);
});

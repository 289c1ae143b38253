/**
 * `npm ci`'s `prepare`: makes the PGlite template of this checkout (initdb and the migrations, in
 * node_modules/.cache/chronoverse; src/platform/db/pglite-template.ts) so that `npm start` on a
 * new DATA_DIR copies it instead of running initdb. Never fails the install: without a template
 * the first start runs initdb and the migrations itself, as it always did.
 */
const started = performance.now();
try {
  const [{ openDatabase }, { buildTemplate }] = await Promise.all([
    import('../src/platform/db/database.ts'),
    import('../src/platform/db/pglite-template.ts'),
  ]);
  const made = await buildTemplate((dataDir) => openDatabase({ url: '', dataDir, poolSize: 1 }));
  console.log(`PGlite template ready (${((performance.now() - started) / 1000).toFixed(1)} s): ${made}`);
} catch (err) {
  console.warn(
    `no PGlite template (${(err as Error).message}); a new data directory is initialised at its first start`,
  );
}

// @ts-check
/**
 * Mutation testing of the domain (src/domain), `npm run test:mutation`: Stryker changes the code one
 * small mutation at a time and runs the domain's unit tests (vitest.domain.config.ts: no databases,
 * brokers or containers) against each; a mutant no test notices "survives". The run fails below an
 * 80% mutation score. Reports: reports/mutation/ (git-ignored).
 *
 * Incremental (Stryker's own mode): test/mutation/stryker-incremental.json holds the last full
 * run's result per mutant and per test, committed. A run tests again only the mutants of code or
 * tests changed since, and scores the whole from both: that is what CI runs (scripts/test-ci.sh),
 * in 1–2 minutes instead of the full run's 56 (2026-12-07, 2 cores shared with other work: 87.63%
 * of 7,343 mutants; 6,340 killed, 95 timed out, 786 survived, 122 without coverage). `npm run test:mutation -- --force` runs
 * every mutant and rewrites the file (commit it); worth doing after large domain changes, since
 * the file only shrinks the work, never the bar.
 *
 * `ignoreStatic` skips module-level mutants (the zod schemas, constant tables): each would rerun
 * every test.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.domain.config.ts' },
  mutate: ['src/domain/**/*.ts', '!src/domain/**/*.test.ts'],
  coverageAnalysis: 'perTest',
  ignoreStatic: true,
  concurrency: 2,
  thresholds: { high: 90, low: 80, break: 80 },
  reporters: ['clear-text', 'progress', 'html', 'json'],
  // The score table only; each survivor is in the HTML report.
  clearTextReporter: { reportMutants: false, reportTests: false },
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  incremental: true,
  incrementalFile: 'test/mutation/stryker-incremental.json',
};

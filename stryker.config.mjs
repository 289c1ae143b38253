// @ts-check
/**
 * Mutation testing of the domain (src/domain), `npm run test:mutation`: Stryker changes the code one
 * small mutation at a time and runs the domain's unit tests (vitest.domain.config.ts: no databases,
 * brokers or containers) against each; a mutant no test notices "survives". The run fails below an
 * 80% mutation score. Reports: reports/mutation/ (git-ignored).
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
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
};

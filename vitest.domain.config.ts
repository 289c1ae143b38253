import { defineConfig } from 'vitest/config';

/**
 * The domain's unit tests only (src/domain): pure code, no databases, brokers or containers, so no
 * global setups. Mutation testing (stryker.config.mjs) runs them.
 */
export default defineConfig({
  test: {
    include: ['src/domain/**/*.test.ts'],
    testTimeout: 30_000,
    // One module graph for all test files: under Stryker every mutant reruns a few tests, and a
    // fresh worker per file would cost more than the tests.
    isolate: false,
    // Every mutant the property tests cover reruns them: 1/20 of their cases (src/domain/cron-syntax.test.ts).
    provide: { fewerPropertyRuns: true },
  },
});

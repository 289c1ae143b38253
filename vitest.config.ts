import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: [
      'test/helpers/global-setup.ts',
      'test/helpers/podman-setup.ts',
      'test/helpers/redis-setup.ts',
      'test/helpers/kafka-setup.ts',
      'test/helpers/greenmail-setup.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});

import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

/** Dashboard component tests: jsdom, no databases or brokers (no global setups). */
export default defineConfig({
  plugins: [react()],
  test: {
    include: ['web/src/**/*.test.tsx', 'web/src/**/*.test.ts'],
    environment: 'jsdom',
    setupFiles: ['web/src/test/setup.ts'],
    testTimeout: 30_000,
  },
});

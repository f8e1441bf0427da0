import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // stops any dev server, bed or VM a test left behind, and names it
    globalSetup: ['test/helpers/global-setup.ts'],
    // Bed and server tests share one machine's namespaces and ports: run files one at a time.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});

import { defineConfig } from 'vitest/config';

// `npm run record:histories`: records the committed workflow histories (see workflows/README.md).
export default defineConfig({
  test: {
    include: ['test/histories/*.histories.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});

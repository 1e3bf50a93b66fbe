import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // onnxruntime-node and sharp are native: separate processes keep one file's sessions from another's.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

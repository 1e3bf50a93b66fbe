import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // float16 tensors as Uint16Array on Node 24 too (src/runtime/float16-tensors.ts).
    setupFiles: ['test/setup-float16.ts'],
    // onnxruntime-node and sharp are native: separate processes keep one file's sessions from another's.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

import os from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // float16 tensors as Uint16Array on Node 24 too (src/runtime/float16-tensors.ts).
    setupFiles: ['test/setup-float16.ts'],
    // onnxruntime-node and sharp are native: separate processes keep one file's sessions from another's.
    pool: 'forks',
    // Two files at a time even on 2 cores (vitest's default there is 1): the tests open sessions with one thread, and
    // many files spend their time waiting on server processes, Redis, Chromium or sockets, so a second file fills the
    // other core. Files share nothing (temporary folders, free ports; models/ is only read). VITEST_MAX_WORKERS overrides.
    maxWorkers: Math.max(2, os.availableParallelism() - 1),
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

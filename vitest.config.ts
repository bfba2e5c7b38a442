import { defineConfig } from 'vitest/config';
import { SLOW_TESTS } from './test/slow-tests.js';

// TRT_TEST_SLOW=1 (scripts/test-slow) runs only the slow checks; otherwise everything else
const slow = process.env.TRT_TEST_SLOW === '1';

export default defineConfig({
  test: {
    include: slow ? SLOW_TESTS : ['test/**/*.test.ts'],
    exclude: slow ? [] : ['**/node_modules/**', ...SLOW_TESTS],
    // the daemon's state folder (generated password, API token) in a temp folder per test file
    setupFiles: ['test/support/state-dir.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // two cores: keep heavy suites (ffmpeg, onnxruntime) from starving each other
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});

/**
 * The slow checks, run by `npm run test:slow` (scripts/test-slow) and by CI after the quick suite
 * (`npm test`): the addon cross-built for arm64 and run under qemu, the daemon under a real
 * systemd, the compiled CLI under Node 16, and the long live-camera runs.
 */
export const SLOW_TESTS = ['test/platform/arm64.test.ts', 'test/systemd/service.test.ts', 'test/platform/node16.test.ts', 'test/live/daemon-live.test.ts'];

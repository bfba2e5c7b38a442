/**
 * The slow checks, run by `npm run test:slow` (scripts/test-slow) and by CI after the quick suite
 * (`npm test`): the addon cross-built for arm64 and run under qemu, the daemon under a real
 * systemd, the compiled CLI under Node 16, the long live-camera runs, the converter checked against
 * TF.js, and clang-tidy over the addon.
 */
export const SLOW_TESTS = [
  'test/platform/arm64.test.ts',
  'test/systemd/service.test.ts',
  'test/platform/node16.test.ts',
  'test/live/daemon-live.test.ts',
  // TF.js on the CPU as the converter's reference: about 2.5 s a photo
  'test/models/coco-ssd-equivalence.test.ts',
  // clang-tidy over the addon
  'test/platform/native-lint.test.ts',
];

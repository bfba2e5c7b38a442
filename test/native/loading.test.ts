import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/videos.js';

const saved = process.env.TRT_DETECT_ADDON;

afterEach(() => {
  if (saved === undefined) delete process.env.TRT_DETECT_ADDON;
  else process.env.TRT_DETECT_ADDON = saved;
  vi.resetModules();
});

describe('loading the addon', () => {
  it('finds the built addon beside package.json and reports what it contains', async () => {
    delete process.env.TRT_DETECT_ADDON;
    vi.resetModules();
    const native = await import('../../daemon/native.js');
    expect(native.addonInfo.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(typeof native.addonInfo.tensorrt).toBe('boolean');
    expect(JSON.parse(JSON.stringify(native.addonInfo))).toEqual({ version: native.addonInfo.version, tensorrt: false, cuda: false, gstreamer: false, mallocArenaMax: process.env.MALLOC_ARENA_MAX ? Number(process.env.MALLOC_ARENA_MAX) : 2 });
  });

  it('a missing addon is a RuntimeFailure telling the user to run setup, only when used', async () => {
    process.env.TRT_DETECT_ADDON = '/nonexistent/trt_detect.node';
    vi.resetModules();
    const native = await import('../../daemon/native.js'); // importing alone does not fail
    const { RuntimeFailure } = await import('../../daemon/core/errors.js'); // the same module instance native.ts uses
    const err = await native.preprocess(Buffer.alloc(3), 1, 1, { width: 1, height: 1, mean: [0, 0, 0], std: [1, 1, 1], color: 'rgb', resize: 'stretch' }, new Float32Array(3)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeFailure);
    expect((err as InstanceType<typeof RuntimeFailure>).message).toBe('native addon not built: run npm run setup (missing /nonexistent/trt_detect.node)');
    expect((err as InstanceType<typeof RuntimeFailure>).exitCode).toBe(1);
    expect(() => native.addonInfo.tensorrt).toThrow('native addon not built: run npm run setup');
  });

  it('an addon built from older sources (functions missing) is one line telling the user to run setup', async () => {
    const { dir, cleanup } = tempDir('old-addon');
    try {
      const old = join(dir, 'old-addon.cjs');
      // what an addon of an earlier version exports: no decodeSync, preprocessTimed, preprocessSync, mallocArenas
      writeFileSync(old, "module.exports = { info: { version: '0.0.1', tensorrt: false, cuda: false, gstreamer: false }, preprocess() {}, postprocess() {}, draw() {}, sdNotify() {}, openPipe() {} };\n");
      process.env.TRT_DETECT_ADDON = old;
      vi.resetModules();
      const native = await import('../../daemon/native.js');
      expect(() => native.addonInfo.version).toThrow(`native addon ${old} is older than this trt-detect (no preprocessTimed, preprocessSync, decodeSync, mallocArenas): run npm run setup to rebuild it`);
    } finally {
      delete process.env.TRT_DETECT_ADDON;
      cleanup();
    }
  });
});

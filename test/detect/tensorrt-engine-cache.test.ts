import { createHash } from 'node:crypto';
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cachedEnginePath,
  engineCacheLocation,
  foreignEngineReasons,
  inputKey,
  keyMismatches,
  lookupCachedEngine,
  readSidecar,
  sha256File,
  sidecarPath,
  writeSidecar,
  type EngineKey,
  type EngineSidecar,
} from '../../daemon/detect/tensorrt-engine-cache.js';
import { tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('trt-cache');
afterAll(cleanup);

const key: EngineKey = {
  model_sha256: 'a'.repeat(64),
  tensorrt: '8.2.1',
  gpu: 'NVIDIA Tegra X1',
  compute_capability: '5.3',
  precision: 'fp16',
  input: 'model',
};

function engine(name: string, bytes: Buffer): { path: string; sidecar: EngineSidecar } {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const sidecar: EngineSidecar = {
    format: 1,
    built_by: 'trt-detect',
    built_at: new Date(0).toISOString(),
    ...key,
    engine_sha256: createHash('sha256').update(bytes).digest('hex'),
    engine_bytes: bytes.length,
    input_shape: [1, 3, 300, 300],
  };
  return { path, sidecar };
}

describe('TensorRT engine cache', () => {
  it('names the cached engine after the model and precision, beside it, with a .json sidecar', () => {
    expect(cachedEnginePath('/m/ssd-traffic.onnx', 'int8')).toBe('/m/ssd-traffic.int8.engine');
    expect(cachedEnginePath('rel/x.y.onnx', 'fp16')).toBe(join('rel', 'x.y.fp16.engine'));
    expect(sidecarPath('/m/a.fp16.engine')).toBe('/m/a.fp16.engine.json');
    expect(inputKey(null, null)).toBe('model');
    expect(inputKey(640, 384)).toBe('640x384');
  });

  it('cache location: beside a writable model, or TRT_DETECT_ENGINE_CACHE when set (created)', () => {
    const model = join(dir, 'net.onnx');
    expect(engineCacheLocation(model, 'fp16', {})).toBe(join(dir, 'net.fp16.engine'));
    const elsewhere = join(dir, 'engines', 'nested');
    expect(engineCacheLocation(model, 'int8', { TRT_DETECT_ENGINE_CACHE: elsewhere })).toBe(join(elsewhere, 'net.int8.engine'));
    expect(existsSync(elsewhere)).toBe(true);
    writeFileSync(join(dir, 'afile'), 'x');
    expect(() => engineCacheLocation(model, 'fp16', { TRT_DETECT_ENGINE_CACHE: join(dir, 'afile', 'sub') })).toThrow(
      /cannot create the TensorRT engine cache folder/,
    );
  });

  it('sha256File hashes the whole file', async () => {
    const file = join(dir, 'h.bin');
    const data = Buffer.alloc(3 * 1024 * 1024 + 7, 9);
    writeFileSync(file, data);
    expect(await sha256File(file)).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('keyMismatches lists every field that differs, in words', () => {
    expect(keyMismatches(key, { ...key })).toEqual([]);
    const other = {
      ...key,
      model_sha256: 'b'.repeat(64),
      tensorrt: '8.6.1',
      gpu: 'Orin',
      compute_capability: '8.7',
      precision: 'int8' as const,
      input: '640x384',
    };
    expect(keyMismatches(key, other)).toEqual([
      'the model changed since the engine was built',
      'TensorRT "8.6.1" (this host: "8.2.1")',
      'GPU "Orin" (this host: "NVIDIA Tegra X1")',
      'compute capability "8.7" (this host: "5.3")',
      'precision "int8" (this host: "fp16")',
      'input size "640x384" (this host: "model")',
    ]);
    expect(keyMismatches(key, {})).toContain('TensorRT unknown (this host: "8.2.1")');
  });

  it('lookup: missing engine, engine without sidecar (foreign), fresh, stale key, truncated engine', async () => {
    const missing = join(dir, 'none.fp16.engine');
    expect(await lookupCachedEngine(missing, key)).toEqual({ status: 'missing' });

    const { path, sidecar } = engine('m.fp16.engine', Buffer.from('serialized engine bytes'));
    const noSidecar = await lookupCachedEngine(path, key);
    expect(noSidecar.status).toBe('stale');

    await writeSidecar(path, sidecar);
    expect(existsSync(`${sidecarPath(path)}.tmp.${process.pid}`)).toBe(false);
    expect(JSON.parse(readFileSync(sidecarPath(path), 'utf8'))).toEqual(sidecar);
    expect(await lookupCachedEngine(path, key)).toEqual({ status: 'fresh', sidecar });

    // another TensorRT (JetPack upgrade) or another GPU: rebuilt, never loaded
    const upgraded = await lookupCachedEngine(path, { ...key, tensorrt: '8.2.3' });
    expect(upgraded).toEqual({ status: 'stale', reasons: ['TensorRT "8.2.1" (this host: "8.2.3")'] });
    const newModel = await lookupCachedEngine(path, { ...key, model_sha256: 'c'.repeat(64) });
    expect(newModel).toEqual({ status: 'stale', reasons: ['the model changed since the engine was built'] });

    truncateSync(path, 5);
    expect(await lookupCachedEngine(path, key)).toEqual({ status: 'stale', reasons: ['the engine file does not match its sidecar (truncated or replaced)'] });
    writeFileSync(path, Buffer.from('serialized engine byteZ')); // same size, other bytes
    expect((await lookupCachedEngine(path, key)).status).toBe('stale');
  });

  it('a corrupt or foreign sidecar counts as none', async () => {
    const { path } = engine('c.fp16.engine', Buffer.from('x'));
    writeFileSync(sidecarPath(path), '{not json');
    expect(await readSidecar(path)).toBeNull();
    writeFileSync(sidecarPath(path), JSON.stringify({ format: 1, built_by: 'someone-else' }));
    expect(await readSidecar(path)).toBeNull();
    expect((await lookupCachedEngine(path, key)).status).toBe('stale');
  });

  it('foreignEngineReasons: a given engine built for another TensorRT or GPU is refused with both reasons', () => {
    const { sidecar } = engine('f.engine', Buffer.from('y'));
    const host = { tensorrt: '8.2.1', gpu: 'NVIDIA Tegra X1', compute_capability: '5.3' };
    expect(foreignEngineReasons(sidecar, host)).toEqual([]);
    expect(foreignEngineReasons(null, host)).toEqual([]);
    expect(foreignEngineReasons(sidecar, { tensorrt: '10.3.0', gpu: 'Orin', compute_capability: '8.7' })).toEqual([
      'built with TensorRT 8.2.1, this host has 10.3.0',
      'built for NVIDIA Tegra X1 (sm 5.3), this host has Orin (sm 8.7)',
    ]);
  });
});

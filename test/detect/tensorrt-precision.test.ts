import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../daemon/core/errors.js';
import { resolvePrecision, type PrecisionCaps } from '../../daemon/detect/tensorrt-precision.js';

const nano: PrecisionCaps = { fastFp16: true, fastInt8: false, gpuName: 'NVIDIA Tegra X1', computeCapability: '5.3' };
const xavier: PrecisionCaps = { fastFp16: true, fastInt8: true, gpuName: 'Xavier', computeCapability: '7.2' };
const old: PrecisionCaps = { fastFp16: false, fastInt8: false, gpuName: 'GeForce GTX 980', computeCapability: '5.2' };

describe('TensorRT precision fallback', () => {
  it('keeps what the GPU supports, with no warning', () => {
    for (const p of ['int8', 'fp16', 'fp32'] as const) expect(resolvePrecision(p, xavier, false)).toEqual({ precision: p, warning: null });
    expect(resolvePrecision('fp16', nano, true)).toEqual({ precision: 'fp16', warning: null });
    expect(resolvePrecision('fp32', old, true)).toEqual({ precision: 'fp32', warning: null });
  });

  it('Jetson Nano (sm_53, no fast INT8): int8 falls back to fp16 with one warning naming the GPU', () => {
    const c = resolvePrecision('int8', nano, false);
    expect(c.precision).toBe('fp16');
    expect(c.warning).toContain('NVIDIA Tegra X1 (sm 5.3) has no fast INT8: building fp16 instead of int8');
    expect(c.warning?.split('\n')).toHaveLength(1);
  });

  it('no fast FP16 either: int8 and fp16 fall back to fp32', () => {
    expect(resolvePrecision('int8', old, false).precision).toBe('fp32');
    const c = resolvePrecision('fp16', old, false);
    expect(c.precision).toBe('fp32');
    expect(c.warning).toMatch(/no fast FP16: building fp32 instead of fp16/);
  });

  it('strict refuses the fallback with a ConfigError (exit 2) that says what to set', () => {
    let err: unknown;
    try {
      resolvePrecision('int8', nano, true);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    expect((err as ConfigError).message).toMatch(
      /^model\.precision: int8 requested with model\.strict_precision: true, but NVIDIA Tegra X1 \(sm 5\.3\) has no fast INT8 \(set precision: fp16/,
    );
    expect(() => resolvePrecision('fp16', old, true)).toThrow(/set precision: fp32/);
  });
});

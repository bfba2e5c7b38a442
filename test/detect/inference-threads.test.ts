import { cpus } from 'node:os';
import { describe, expect, it } from 'vitest';
import { inferenceThreads, physicalCores } from '../../daemon/detect/inference-threads.js';

describe('model.threads', () => {
  it('a number above 0 is taken as it is', () => {
    expect(inferenceThreads(3, true, 8)).toBe(3);
    expect(inferenceThreads(3, false, 2)).toBe(3);
  });

  it('auto with video on the same cores leaves one core to it, and never goes below one thread', () => {
    expect(inferenceThreads(0, true, 8)).toBe(7);
    expect(inferenceThreads(undefined, true, 2)).toBe(1);
    expect(inferenceThreads(0, true, 1)).toBe(1);
  });

  it("auto without video is ONNX Runtime's own default (0: one thread per physical core)", () => {
    expect(inferenceThreads(0, false, 4)).toBe(0);
    expect(inferenceThreads(undefined, false, 1)).toBe(0);
  });

  it('physical cores: at least one, at most the logical CPUs', () => {
    const n = physicalCores();
    expect(Number.isInteger(n)).toBe(true);
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(cpus().length);
  });
});

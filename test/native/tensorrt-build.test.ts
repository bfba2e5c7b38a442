/**
 * The TensorRT backend compiles against real TensorRT public headers (kept outside the repository:
 * TRT_HEADERS_DIR names a folder with one sub-folder per TensorRT version, or one version's
 * include dir), and the CUDA kernels with nvcc (native/test-cuda builds the kernel test program).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { tempDir } from '../support/videos.js';

const headers = process.env.TRT_HEADERS_DIR;
const cudaHeaders = ['/usr/local/cuda/include/cuda_runtime_api.h', `${process.env.CUDA_HOME ?? '/nonexistent'}/include/cuda_runtime_api.h`].some((f) => existsSync(f));
const nvcc = ['nvcc', '/usr/local/cuda/bin/nvcc'].find((n) => spawnSync(n, ['--version']).status === 0);

describe('TensorRT backend and CUDA kernels compile', () => {
  it.skipIf(!headers)('scripts/check-tensorrt-build passes for every header set in TRT_HEADERS_DIR (TRT_HEADERS_DIR not set: no TensorRT headers on this machine)', () => {
    const r = spawnSync('bash', [join(ROOT, 'scripts', 'check-tensorrt-build')], { env: { ...process.env, TRT_HEADERS_DIR: headers }, encoding: 'utf8', timeout: 600_000 });
    expect(r.stdout).toMatch(/TensorRT \d+\.\d+\.\d+ headers/);
    expect(r.stdout).not.toContain('FAIL');
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 600_000);

  it('the check script skips with a reason when no headers are given', () => {
    const r = spawnSync('bash', [join(ROOT, 'scripts', 'check-tensorrt-build')], { env: { ...process.env, TRT_HEADERS_DIR: '' }, encoding: 'utf8' });
    expect(r.status).toBe(77);
    expect(r.stdout).toMatch(/SKIP: no TensorRT headers given/);
  });

  it.skipIf(!cudaHeaders)('a header set the backend does not compile against is a FAIL line and exit 1 (CUDA runtime headers not found: the check cannot run here)', () => {
    const { dir, cleanup } = tempDir('trt-bad-headers');
    try {
      const inc = join(dir, '7.1');
      mkdirSync(inc);
      writeFileSync(join(inc, 'NvInferVersion.h'), '#define NV_TENSORRT_MAJOR 7\n#define NV_TENSORRT_MINOR 1\n#define NV_TENSORRT_PATCH 3\n');
      writeFileSync(join(inc, 'NvInfer.h'), '#include "NvInferVersion.h"\nnamespace nvinfer1 { class ILogger; }\n');
      const r = spawnSync('bash', [join(ROOT, 'scripts', 'check-tensorrt-build'), dir], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, NVCC: '/nonexistent' } });
      expect(r.stdout).toContain('TensorRT 7.1.3 headers');
      expect(r.stdout).toMatch(/FAIL {2}engine\.cc/);
      expect(r.status).toBe(1);
    } finally {
      cleanup();
    }
  }, 300_000);

  it.skipIf(!nvcc)('native/test-cuda builds the kernel test program with nvcc (nvcc not found: no CUDA toolkit here)', () => {
    const { dir: out, cleanup } = tempDir('test-cuda');
    try {
      const r = spawnSync('bash', [join(ROOT, 'native', 'test-cuda', 'run.sh'), '--compile'], { env: { ...process.env, OUT_DIR: out }, encoding: 'utf8', timeout: 300_000 });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(existsSync(join(out, 'kernel_test'))).toBe(true);
    } finally {
      cleanup();
    }
  }, 300_000);
});

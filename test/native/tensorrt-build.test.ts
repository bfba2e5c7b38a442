/**
 * The TensorRT backend compiles against real TensorRT public headers (kept outside the repository:
 * TRT_HEADERS_DIR names a folder with one sub-folder per TensorRT version, or one version's
 * include dir), and the CUDA kernels with nvcc (native/test-cuda builds the kernel test program).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
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

  it.skipIf(!headers)('TRT_REQUIRE_VERSIONS: a version with no header set among the DIRs is a FAIL line and exit 1 (TRT_HEADERS_DIR not set)', () => {
    const r = spawnSync('bash', [join(ROOT, 'scripts', 'check-tensorrt-build')], {
      env: { ...process.env, TRT_HEADERS_DIR: headers, TRT_REQUIRE_VERSIONS: '8 99.9', NVCC: '/nonexistent' },
      encoding: 'utf8',
      timeout: 600_000,
    });
    expect(r.stdout).toContain('FAIL  TensorRT 99.9: no header set (TRT_REQUIRE_VERSIONS asks for it)');
    expect(r.stdout).not.toContain('FAIL  TensorRT 8:');
    expect(r.status).toBe(1);
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

  /** Stand-in headers and libraries of a TensorRT 11 (the version numbers are all that is real). */
  function fakeTensorRT11(dir: string): string {
    const inc = join(dir, 'include');
    const lib = join(dir, 'lib');
    mkdirSync(inc, { recursive: true });
    mkdirSync(lib);
    writeFileSync(join(inc, 'NvInferVersion.h'), '#define NV_TENSORRT_MAJOR 11\n#define NV_TENSORRT_MINOR 0\n#define NV_TENSORRT_PATCH 0\n');
    // enough to parse, nothing the backend uses: without the version check every use would be an error
    writeFileSync(join(inc, 'NvInfer.h'), '#pragma once\n#include "NvInferVersion.h"\nnamespace nvinfer1 { class ILogger; }\n');
    for (const h of ['NvInferPlugin.h', 'NvOnnxParser.h']) writeFileSync(join(inc, h), '#pragma once\n#include "NvInfer.h"\n');
    writeFileSync(join(inc, 'cuda_runtime_api.h'), '#pragma once\n');
    for (const l of ['nvinfer', 'nvonnxparser', 'nvinfer_plugin', 'cudart']) writeFileSync(join(lib, `lib${l}.so`), '');
    return inc;
  }

  const UNSUPPORTED = 'trt-detect supports TensorRT 8.0 to 10.x (JetPack 4.6: 8.2); these NvInferVersion.h headers are another major version';

  it('TensorRT 11 headers: every backend source stops at the one #error of trt_compat.h, not a wall of template errors', () => {
    const { dir, cleanup } = tempDir('trt11-compile');
    try {
      const inc = fakeTensorRT11(dir);
      const napi = String(spawnSync(process.execPath, ['-p', "require('node-addon-api').include"], { cwd: ROOT, encoding: 'utf8' }).stdout).trim().replace(/"/g, '');
      const sources = readdirSync(join(ROOT, 'native', 'src', 'trt')).filter((f) => f.endsWith('.cc'));
      expect(sources.length).toBeGreaterThanOrEqual(5);
      for (const f of sources) {
        const r = spawnSync(
          'g++',
          ['-std=c++17', '-fsyntax-only', `-I${join(ROOT, 'native', 'src')}`, '-isystem', inc, '-isystem', napi, '-isystem', join(ROOT, 'node_modules', 'node-api-headers', 'include'), '-DTRT_DETECT_HAVE_TENSORRT=1', '-DTRT_DETECT_HAVE_CUDA=0', join(ROOT, 'native', 'src', 'trt', f)],
          { encoding: 'utf8' },
        );
        expect(r.status, f).not.toBe(0);
        const errors = r.stderr.split('\n').filter((l) => /\berror:/.test(l));
        // the message, then the missing include after it that ends the compilation
        expect(errors, `${f}:\n${r.stderr}`).toHaveLength(2);
        expect(errors[0]).toContain(`#error "${UNSUPPORTED}`);
        expect(errors[1]).toContain('fatal error: trt-detect-stops-here/unsupported-tensorrt-version');
        expect(r.stderr).toContain('compilation terminated');
      }
    } finally {
      cleanup();
    }
  });

  it.skipIf(spawnSync('cmake', ['--version']).status !== 0)('TensorRT 11 at cmake time: a clear error with TRT_DETECT_TENSORRT=ON, a warning and no backend with AUTO (cmake not found)', () => {
    const { dir, cleanup } = tempDir('trt11-cmake');
    try {
      fakeTensorRT11(dir);
      const configure = (mode: string) =>
        spawnSync('cmake', ['-S', join(ROOT, 'native'), '-B', join(dir, `build-${mode}`), `-DTRT_DETECT_TENSORRT=${mode}`, `-DTENSORRT_ROOT=${dir}`, '-DTRT_DETECT_CUDA=OFF'], {
          encoding: 'utf8',
          env: { ...process.env, CUDA_HOME: dir },
          timeout: 120_000,
        });
      const flat = (s: string) => s.replace(/\s+/g, ' ');
      const on = configure('ON');
      expect(on.status).not.toBe(0);
      expect(flat(on.stderr)).toContain(
        `(message): TensorRT 11.0.0 (${dir}/include/NvInferVersion.h) is not supported: trt-detect's TensorRT backend is written for TensorRT 8.0 to 10.x (JetPack 4.6: 8.2).`,
      );
      expect(flat(on.stderr)).toMatch(/CMake Error at src\/trt\/tensorrt\.cmake:\d+ \(message\)/);
      expect(flat(on.stderr).match(/CMake Error/g)).toHaveLength(1);
      const auto = configure('AUTO');
      expect(auto.status, auto.stderr).toBe(0);
      expect(flat(auto.stderr)).toContain('TensorRT backend skipped: TensorRT 11.0.0');
      expect(auto.stdout).not.toMatch(/TensorRT backend: TensorRT/);
    } finally {
      cleanup();
    }
  }, 180_000);
});

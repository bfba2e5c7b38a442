/**
 * linux-arm64: `npm run build:arm64` cross-compiles the addon with Debian's g++-aarch64-linux-gnu
 * (native/cmake/aarch64-linux-gnu.cmake) into build/native-arm64/, and the compiled daemon runs on
 * the official arm64 Node 16.20.2 under qemu user-mode emulation with that addon
 * (TRT_DETECT_ADDON) and ONNX Runtime's arm64 CPU binaries, detecting the same boxes as x86.
 * Emulated inference is slow (seconds per frame): a 3-frame clip.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, MODEL, ROOT, SAMPLE, runCli, type CliResult } from '../support/cli.js';
import { makeTestVideo, probeFrames, tempDir } from '../support/videos.js';
import { fetchNode16, findExecutable } from './node-binaries.js';

const SYSROOT = '/usr/aarch64-linux-gnu';
const ARM64_ADDON = join(ROOT, 'build', 'native-arm64', 'Release', 'trt_detect.node');
const ORT_ARM64 = join(ROOT, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'arm64', 'onnxruntime_binding.node');

/** Why the emulated run cannot happen here ('' when it can); checked cheapest first. */
function whatIsMissing(): string {
  if (process.arch !== 'x64') return `host is ${process.arch}, not x86-64: the arm64 check cross-compiles and emulates from x86-64`;
  if (!findExecutable(['qemu-aarch64-static', 'qemu-aarch64'])) return 'qemu-aarch64-static not found (apt-get install qemu-user-static)';
  if (!findExecutable(['aarch64-linux-gnu-g++'])) return 'aarch64-linux-gnu-g++ not found (apt-get install g++-aarch64-linux-gnu)';
  if (!existsSync(join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1')))
    return `${SYSROOT}/lib/ld-linux-aarch64.so.1 not found (apt-get install libc6-dev-arm64-cross)`;
  if (!existsSync(ORT_ARM64)) return `${ORT_ARM64} missing (onnxruntime-node without its linux/arm64 binaries)`;
  return '';
}

let missing = whatIsMissing();
let node16arm = '';
if (!missing) {
  const fetched = fetchNode16('arm64');
  if (fetched.node !== null) node16arm = fetched.node;
  else missing = fetched.missing;
}
const qemu = findExecutable(['qemu-aarch64-static', 'qemu-aarch64']) ?? '';

const { dir, cleanup } = tempDir('arm64');
afterAll(cleanup);

/** The compiled CLI on the arm64 Node under qemu, with the arm64 addon. */
function runArm64(args: string[], timeoutMs: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(qemu, ['-L', SYSROOT, node16arm, CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, TRT_DETECT_ADDON: ARM64_ADDON },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`arm64 trt-detect ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** ELF e_machine of a file (183 = AArch64, 62 = x86-64). */
function elfMachine(file: string): number {
  const fd = openSync(file, 'r');
  const head = Buffer.alloc(20);
  readSync(fd, head, 0, 20, 0);
  closeSync(fd);
  expect(head.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  return head.readUInt16LE(18);
}

type Det = { label: string; class_id: number; score: number; box: { x1: number; y1: number; x2: number; y2: number } };
type Line = { frame: number; width: number; height: number; detections: Det[] };
const readLines = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);

describe('TRT_DETECT_ADDON', () => {
  it('loads the addon from that path: a missing file is one clear line, exit 1', async () => {
    const nowhere = join(dir, 'no-such-addon.node');
    const clip = makeTestVideo(join(dir, 'one.mp4'), { frames: 1 });
    const res = await runCli(['detect', '-m', MODEL, '-i', clip, '-o', join(dir, 'one-out.mp4')], { env: { TRT_DETECT_ADDON: nowhere } });
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain(nowhere);
  });
});

describe.skipIf(!!missing)(`linux-arm64 under qemu${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let clip = '';
  const FRAMES = 3;

  beforeAll(() => {
    // npm run build:arm64, as a user runs it (incremental: quick when nothing changed)
    const build = spawnSync('npm', ['run', '--silent', 'build:arm64'], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
    if (build.status !== 0)
      throw new Error(`npm run build:arm64 failed (exit ${build.status}):\n${(build.stdout + build.stderr).split('\n').slice(-30).join('\n')}`);
    clip = join(dir, 'clip3.mp4');
    if (existsSync(SAMPLE)) {
      spawnSync('ffmpeg', ['-v', 'error', '-i', SAMPLE, '-frames:v', String(FRAMES), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-y', clip]);
    } else {
      makeTestVideo(clip, { width: 320, height: 240, frames: FRAMES });
    }
  }, 600_000);

  it('npm run build:arm64 made an AArch64 addon', () => {
    expect(elfMachine(ARM64_ADDON)).toBe(183);
    expect(elfMachine(join(ROOT, 'build', 'native', 'Release', 'trt_detect.node'))).toBe(62);
  });

  it('check-config on the arm64 Node 16 prints what x86 prints', async () => {
    const config = join(ROOT, 'config', 'config.yaml');
    const file = existsSync(config) && existsSync(SAMPLE) ? config : join(dir, 'arm.yaml');
    if (file !== config) {
      writeFileSync(file, `model:\n  path: ${MODEL}\ncameras:\n  cam:\n    source: ${clip}\n    record: {enabled: false}\n`);
    }
    const [arm, x86] = await Promise.all([runArm64(['check-config', '-c', file], 180_000), runCli(['check-config', '-c', file])]);
    expect(arm.code).toBe(0);
    expect(arm.stdout).toBe(x86.stdout);
    expect(arm.stdout).toMatch(/config OK\n$/);
  }, 240_000);

  it('detect on 3 frames: same detections as x86 (boxes within 1 px, scores within 0.01), every frame in the MP4', async () => {
    const armJson = join(dir, 'arm.jsonl');
    const armOut = join(dir, 'arm.mp4');
    const arm = await runArm64(['detect', '-m', MODEL, '-i', clip, '-o', armOut, '--json', armJson, '--threshold', '0.2'], 540_000);
    expect(arm.stderr).not.toMatch(/error|could not be loaded/i);
    expect(arm.code).toBe(0);
    expect(probeFrames(armOut).count).toBe(FRAMES);

    const xJson = join(dir, 'x86.jsonl');
    const x86 = await runCli(['detect', '-m', MODEL, '-i', clip, '-o', join(dir, 'x86.mp4'), '--json', xJson, '--threshold', '0.2']);
    expect(x86.code).toBe(0);

    const a = readLines(armJson);
    const x = readLines(xJson);
    expect(a.map((l) => l.frame)).toEqual([...Array(FRAMES).keys()]);
    expect(x.map((l) => l.frame)).toEqual(a.map((l) => l.frame));
    // the comparison means something only if there is something to compare
    expect(x.reduce((n, l) => n + l.detections.length, 0)).toBeGreaterThan(0);
    for (let i = 0; i < FRAMES; i++) {
      const xa = x[i];
      const aa = a[i];
      expect([aa.width, aa.height]).toEqual([xa.width, xa.height]);
      expect(aa.detections.length).toBe(xa.detections.length);
      const unmatched = [...aa.detections];
      for (const d of xa.detections) {
        const k = unmatched.findIndex(
          (e) =>
            e.class_id === d.class_id &&
            e.label === d.label &&
            Math.abs(e.score - d.score) <= 0.01 &&
            (['x1', 'y1', 'x2', 'y2'] as const).every((c) => Math.abs(e.box[c] - d.box[c]) <= 1),
        );
        expect(k, `frame ${i}: no arm64 detection matches x86 ${JSON.stringify(d)} among ${JSON.stringify(unmatched)}`).toBeGreaterThanOrEqual(0);
        unmatched.splice(k, 1);
      }
    }
  }, 600_000);
});

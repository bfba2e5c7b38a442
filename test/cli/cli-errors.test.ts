import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MODEL, SAMPLE, runCli } from '../support/cli.js';
import { probeFrames, tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('cli');
afterAll(cleanup);

const oneLine = (s: string) => {
  expect(s.trim().split('\n')).toHaveLength(1);
  expect(s).not.toMatch(/\n\s+at /); // no stack trace
};

describe('CLI exit codes and one-line errors', () => {
  it('--help works on every command', async () => {
    for (const cmd of ['run', 'check-config', 'detect', 'eval', 'bench', 'build-engine']) {
      const r = await runCli([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(/Usage: trt-detect/);
    }
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Commands:/);
  });

  it('unknown commands and options exit 2', async () => {
    const a = await runCli(['frobnicate']);
    expect(a.code).toBe(2);
    oneLine(a.stderr);
    const b = await runCli(['detect', '--frob']);
    expect(b.code).toBe(2);
    oneLine(b.stderr);
    expect(b.stderr).toMatch(/^trt-detect detect: .*--frob/);
  });

  it('detect: missing arguments exit 2, missing input exit 1, missing model exit 2', async () => {
    const noInput = await runCli(['detect', '-m', MODEL]);
    expect(noInput.code).toBe(2);
    oneLine(noInput.stderr);
    const missing = await runCli(['detect', '-m', MODEL, '-i', join(dir, 'nope.jpg')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe(`${join(dir, 'nope.jpg')}: not found (check -i)`);
    const noModel = await runCli(['detect', '-m', join(dir, 'none.onnx'), '-i', SAMPLE]);
    expect(noModel.code).toBe(2);
    expect(noModel.stderr.trim()).toBe(`${join(dir, 'none.onnx')}: model file not found (check model.path or -m)`);
    const empty0 = join(dir, 'empty.onnx');
    writeFileSync(empty0, '');
    const emptyModel = await runCli(['detect', '-m', empty0, '-i', SAMPLE]);
    expect(emptyModel.code).toBe(2);
    expect(emptyModel.stderr.trim()).toBe(`${empty0}: the file is empty (copy the model again)`);
    const badThr = await runCli(['detect', '-m', MODEL, '-i', SAMPLE, '--threshold', '2']);
    expect(badThr.code).toBe(2);
    oneLine(badThr.stderr);
    // a negative value is the option's value (not "ambiguous"); an empty one is not 0
    const negative = await runCli(['detect', '-m', MODEL, '-i', SAMPLE, '--threshold', '-0.2']);
    expect(negative.code).toBe(2);
    expect(negative.stderr.trim()).toBe('trt-detect detect: --threshold -0.2: expected a number from 0 to 1');
    const empty = await runCli(['detect', '-m', MODEL, '-i', SAMPLE, '--threshold', '']);
    expect(empty.code).toBe(2);
    expect(empty.stderr.trim()).toBe('trt-detect detect: --threshold : expected a number from 0 to 1');
  });

  it('detect: a video cut short is one line and exit 1; the frames before the cut are kept', async () => {
    const full = join(dir, 'whole.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-i', SAMPLE, '-frames:v', '60', '-c:v', 'libx264', '-preset', 'veryfast', '-movflags', '+faststart', '-y', full]);
    const cut = join(dir, 'cut.mp4');
    const bytes = readFileSync(full);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const out = join(dir, 'cut-out.mp4');
    const json = join(dir, 'cut.jsonl');
    const r = await runCli(['detect', '-m', MODEL, '-i', cut, '-o', out, '--json', json]);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    const m = new RegExp(`^${cut}: decoding stopped early after (\\d+) of 60 frames \\(.+\\); the (\\d+) frames before it are in ${out}$`).exec(
      r.stderr.trim(),
    );
    expect(m, r.stderr).not.toBeNull();
    const n = Number((m as RegExpExecArray)[1]);
    expect(n).toBeGreaterThan(10);
    expect(n).toBeLessThan(60);
    expect(Number((m as RegExpExecArray)[2])).toBe(n);
    expect(probeFrames(out).count).toBe(n);
    expect(readFileSync(json, 'utf8').trim().split('\n')).toHaveLength(n);
  });

  it('detect: a non-video, non-image input is one line and exit 1, nothing written', async () => {
    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, Buffer.alloc(5000, 7));
    const out = join(dir, 'junk-out.mp4');
    const r = await runCli(['detect', '-m', MODEL, '-i', junk, '-o', out]);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toContain(junk);
  });

  it('build-engine without TensorRT: one clear line, exit 1', async () => {
    const r = await runCli(['build-engine', '-m', MODEL, '--precision', 'fp16']);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/TensorRT/);
  });
});

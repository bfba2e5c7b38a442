import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MODEL, runCli } from '../support/cli.js';
import { makeTestVideo, tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('detect-events');
afterAll(cleanup);

describe('detect --events: wrong uses are one line, exit 2, before any work', () => {
  it('with an image input, with --no-track, into a missing folder', async () => {
    const clip = makeTestVideo(join(dir, 'clip.mp4'), { frames: 5 });
    const image = join(dir, 'x.jpg');
    writeFileSync(image, 'not read: the arguments are checked first');
    const out = join(dir, 'ev.jsonl');
    const a = await runCli(['detect', '-m', MODEL, '-i', image, '--events', out]);
    expect(a.code).toBe(2);
    expect(a.stderr.trim()).toBe(`--events ${out}: object events need a video input (-i), not images`);
    const b = await runCli(['detect', '-m', MODEL, '-i', clip, '-o', join(dir, 'o.mp4'), '--no-track', '--events', out]);
    expect(b.code).toBe(2);
    expect(b.stderr.trim()).toBe('--events: object events need tracking (leave out --no-track)');
    const c = await runCli(['detect', '-m', MODEL, '-i', clip, '-o', join(dir, 'o.mp4'), '--events', join(dir, 'missing', 'ev.jsonl')]);
    expect(c.code).toBe(2);
    expect(c.stderr.trim()).toMatch(/^--events \S+missing\/ev\.jsonl: cannot write \(/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(dir, 'o.mp4'))).toBe(false);
  }, 60_000);

  it('a video without objects: an empty --events file', async () => {
    const clip = join(dir, 'plain.mp4'); // one grey: nothing to detect
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'color=c=gray:size=320x240:rate=15',
      '-frames:v',
      '10',
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      '-y',
      clip,
    ]);
    const out = join(dir, 'empty.jsonl');
    const r = await runCli(['detect', '-m', MODEL, '-i', clip, '-o', join(dir, 'plain.out.mp4'), '--events', out], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/, 0 objects -> /);
    expect(readFileSync(out, 'utf8')).toBe('');
  }, 90_000);
});

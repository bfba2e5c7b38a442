import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MODEL, SAMPLE, runCli } from '../support/cli.js';
import { tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('check-videos');
afterAll(cleanup);

const config = (source: string): string => {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    `model: {path: ${MODEL}}\ncameras:\n  a: {source: ${source}, record: {enabled: false}}\n  live: {source: 'rtsp://192.0.2.1/x', enabled: true, record: {enabled: false}}\n`,
  );
  return file;
};

describe('check-config opens file sources as run would', () => {
  it('an empty file and a text file named .mp4 are one line each, exit 2; a real video passes', async () => {
    const empty = join(dir, 'empty.mp4');
    writeFileSync(empty, '');
    const text = join(dir, 'notes.mp4');
    writeFileSync(text, 'not a video\n');
    for (const [file, why] of [
      [empty, 'the file is empty (copy the video again)'],
      [text, 'not a video ffmpeg can read'],
    ] as const) {
      const cfg = config(file);
      const r = await runCli(['check-config', '-c', cfg]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining(`${cfg}: cameras.a.source: ${file}: ${why}`)]);
    }
    const ok = await runCli(['check-config', '-c', config(SAMPLE)]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/config OK\n$/);
  });
});

import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL, SAMPLE, runCli } from '../support/cli.js';
import { probeFrames, tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('detect-cmd');
afterAll(cleanup);

const IMAGE = join(dir, 'street.jpg');
const CLIP = join(dir, 'clip.mp4');
beforeAll(() => {
  execFileSync('ffmpeg', ['-v', 'error', '-i', SAMPLE, '-frames:v', '1', '-y', IMAGE]);
  execFileSync('ffmpeg', ['-v', 'error', '-i', SAMPLE, '-frames:v', '20', '-c:v', 'libx264', '-preset', 'veryfast', '-y', CLIP]);
});

interface Line {
  frame: number;
  inference_ms: number;
  detections: Array<{ label: string; class_id: number; score: number; box: { x1: number; y1: number; x2: number; y2: number }; track_id?: number }>;
}
const jsonLines = (file: string): Line[] =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);

const oneLine = (s: string) => {
  expect(s.trim().split('\n'), s).toHaveLength(1);
  expect(s).not.toMatch(/\n\s+at /);
};

describe('detect: outputs that cannot be written are one line, exit 2, before any work', () => {
  it('--json into a missing folder, onto a folder', async () => {
    for (const [json, why] of [
      [join(dir, 'nope', 'x.jsonl'), `folder ${join(dir, 'nope')} does not exist`],
      [dir, `${dir} is a folder (give a file name)`],
    ]) {
      for (const input of [IMAGE, CLIP]) {
        const r = await runCli(['detect', '-m', MODEL, '-i', input, '-o', join(dir, input === IMAGE ? 'o.jpg' : 'o.mp4'), '--json', json]);
        expect(r.code, r.stderr).toBe(2);
        oneLine(r.stderr);
        expect(r.stderr.trim()).toBe(`--json ${json}: cannot write (${why})`);
      }
    }
  });

  it('-o: a video into a missing folder, a file where a folder belongs, a folder where a file belongs', async () => {
    const missing = await runCli(['detect', '-m', MODEL, '-i', CLIP, '-o', join(dir, 'none', 'out.mp4')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe(`-o ${join(dir, 'none', 'out.mp4')}: cannot write (folder ${join(dir, 'none')} does not exist)`);

    const images = join(dir, 'imgs');
    mkdirSync(images);
    copyFileSync(IMAGE, join(images, 'a.jpg'));
    const file = join(dir, 'taken.png');
    writeFileSync(file, 'x');
    const dirAsFile = await runCli(['detect', '-m', MODEL, '-i', images, '-o', file]);
    expect(dirAsFile.code).toBe(2);
    expect(dirAsFile.stderr.trim()).toBe(`-o ${file}: is a file (for a directory of images -o names the output folder)`);

    const outDir = join(dir, 'outdir');
    mkdirSync(outDir);
    const imageToDir = await runCli(['detect', '-m', MODEL, '-i', IMAGE, '-o', outDir]);
    expect(imageToDir.code).toBe(2);
    oneLine(imageToDir.stderr);
    expect(imageToDir.stderr).toContain(`-o ${outDir}: for an image input -o names the annotated image`);

    const notMp4 = await runCli(['detect', '-m', MODEL, '-i', CLIP, '-o', join(dir, 'out.avi')]);
    expect(notMp4.code).toBe(2);
    oneLine(notMp4.stderr);
  });

  it('a directory input creates the -o folder and its parents', async () => {
    const images = join(dir, 'imgs2');
    mkdirSync(images);
    copyFileSync(IMAGE, join(images, 'a.jpg'));
    const out = join(dir, 'made', 'by', 'detect');
    const r = await runCli(['detect', '-m', MODEL, '-i', images, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(out, 'a.jpg'))).toBe(true);
  });
});

describe('detect on a directory with an unreadable image', () => {
  it('does every readable image, names the bad one on its own line, exits 1', async () => {
    const images = join(dir, 'mixed');
    mkdirSync(images);
    writeFileSync(join(images, 'a-corrupt.jpg'), Buffer.alloc(300, 1)); // sorts first
    copyFileSync(IMAGE, join(images, 'b.jpg'));
    copyFileSync(IMAGE, join(images, 'c.jpg'));
    const out = join(dir, 'mixed-out');
    const json = join(dir, 'mixed.jsonl');
    const r = await runCli(['detect', '-m', MODEL, '-i', images, '-o', out, '--json', json]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^${join(images, 'a-corrupt.jpg')}: `));
    expect(lines[1]).toBe(`${images}: 1 of 3 images failed (above); the other 2 are in ${out}`);
    expect(existsSync(join(out, 'b.jpg')) && existsSync(join(out, 'c.jpg'))).toBe(true);
    expect(jsonLines(json).length).toBe(2);
  });

  it('a video that cannot be read leaves no empty --json file behind', async () => {
    const junk = join(dir, 'junk.mp4');
    writeFileSync(junk, Buffer.alloc(4000, 3));
    const json = join(dir, 'junk.jsonl');
    const r = await runCli(['detect', '-m', MODEL, '-i', junk, '-o', join(dir, 'junk-out.mp4'), '--json', json]);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(existsSync(json)).toBe(false);
  });
});

describe('detect -c', () => {
  it('uses a config with only model and detect sections (no cameras); -m overrides model.path', async () => {
    const cfg = join(dir, 'model-only.yaml');
    writeFileSync(cfg, `model:\n  path: ${join(dir, 'missing.onnx')}\ndetect:\n  threshold: 0.9\n  classes: [vehicle]\n`);
    const json = join(dir, 'c.jsonl');
    const r = await runCli(['detect', '-c', cfg, '-m', MODEL, '-i', IMAGE, '-o', join(dir, 'c.jpg'), '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    const [line] = jsonLines(json);
    expect(line.detections.length).toBeGreaterThan(0);
    for (const d of line.detections) {
      expect(d.label).toBe('vehicle');
      expect(d.score).toBeGreaterThanOrEqual(0.9);
    }
    // the daemon still insists on cameras
    const check = await runCli(['check-config', '-c', cfg]);
    expect(check.code).toBe(2);
    expect(check.stderr).toMatch(/cameras: no cameras configured/);
  });

  it("with detect.interval 2 writes one JSON line per frame; frames in between carry the tracks' predicted boxes", async () => {
    const cfg = join(dir, 'interval.yaml');
    writeFileSync(cfg, `model:\n  path: ${MODEL}\ndetect:\n  interval: 2\n`);
    const json = join(dir, 'interval.jsonl');
    const out = join(dir, 'interval.mp4');
    const r = await runCli(['detect', '-c', cfg, '-i', CLIP, '-o', out, '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    const lines = jsonLines(json);
    expect(lines.map((l) => l.frame)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(probeFrames(out).count).toBe(20);
    const ids = (l: (typeof lines)[number]) => l.detections.map((d) => d.track_id).sort();
    let moved = 0;
    for (const l of lines) {
      for (const d of l.detections) expect(Number.isInteger(d.track_id), `frame ${l.frame}`).toBe(true);
      if (l.frame % 3 === 0) expect(l.inference_ms).toBeGreaterThan(0);
      else {
        // the tracks of the inference before, at their predicted place (not a copy of its boxes)
        const before = lines[l.frame - (l.frame % 3)];
        expect(l.inference_ms).toBe(0);
        expect(ids(l)).toEqual(ids(before));
        for (const d of l.detections) {
          const b = before.detections.find((x) => x.track_id === d.track_id)!;
          expect(d.label).toBe(b.label);
          if (d.box.x1 !== b.box.x1 || d.box.y1 !== b.box.y1) moved++;
        }
      }
    }
    // the sample's vehicles move: predicted boxes move with them
    expect(moved).toBeGreaterThan(0);
  });
});

describe('detect: class 0 of a scores_boxes model is the background, whatever its label', () => {
  it('is never reported, with an odd label file or with none', async () => {
    const reference = join(dir, 'ref.jsonl');
    expect((await runCli(['detect', '-m', MODEL, '-i', IMAGE, '-o', join(dir, 'ref.jpg'), '--json', reference])).code).toBe(0);
    const expected = jsonLines(reference)[0].detections.map((d) => [d.class_id, d.score]);
    expect(expected.length).toBeGreaterThan(0);

    const labelled = join(dir, 'labelled');
    mkdirSync(labelled);
    copyFileSync(MODEL, join(labelled, 'mymodel.onnx'));
    writeFileSync(join(labelled, 'mymodel.labels.txt'), 'bg\nsign\ncar\nwalker\ncycle\n');
    const unlabelled = join(dir, 'unlabelled');
    mkdirSync(unlabelled);
    copyFileSync(MODEL, join(unlabelled, 'mymodel.onnx'));
    for (const [model, names] of [
      [join(labelled, 'mymodel.onnx'), ['bg', 'sign', 'car', 'walker', 'cycle']],
      [join(unlabelled, 'mymodel.onnx'), ['class_0', 'class_1', 'class_2', 'class_3', 'class_4']],
    ] as const) {
      const json = join(dir, 'bg.jsonl');
      const r = await runCli(['detect', '-m', model, '-i', IMAGE, '-o', join(dir, 'bg.jpg'), '--json', json]);
      expect(r.code, r.stderr).toBe(0);
      const got = jsonLines(json)[0].detections;
      expect(got.map((d) => [d.class_id, d.score])).toEqual(expected);
      for (const d of got) expect(d.label).toBe(names[d.class_id]);
    }
  });
});

describe('detect on a variable-frame-rate video', () => {
  it("writes every frame with the input's timestamps, in the MP4 and in the JSON", async () => {
    // 20 frames at 25 fps with a 0.56 s jump after frame 9 (a camera that paused)
    const vfr = join(dir, 'vfr.mp4');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-i',
      CLIP,
      '-vf',
      "setpts='if(gte(N,10),PTS+0.56/TB,PTS)'",
      '-fps_mode',
      'passthrough',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-y',
      vfr,
    ]);
    const inp = probeFrames(vfr);
    expect(inp.count).toBe(20);
    expect(inp.pts[10] - inp.pts[9]).toBeCloseTo(0.6, 3);
    const out = join(dir, 'vfr-out.mp4');
    const json = join(dir, 'vfr.jsonl');
    const r = await runCli(['detect', '-m', MODEL, '-i', vfr, '-o', out, '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    const got = probeFrames(out);
    expect(got.count).toBe(20);
    got.pts.forEach((t, i) => expect(t, `frame ${i}`).toBeCloseTo(inp.pts[i] - inp.pts[0], 5));
    const lines = readFileSync(json, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { pts: number });
    lines.forEach((l, i) => expect(l.pts).toBeCloseTo(got.pts[i], 5));
  });
});

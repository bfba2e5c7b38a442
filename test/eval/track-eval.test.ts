/**
 * Tracking quality, end to end: `npm run make-dataset -- --sequence` writes a MOTChallenge
 * sequence (its format is checked here), and `trt-detect eval --tracks` runs the bundled model and
 * the daemon's tracker over it and writes MOTA, IDF1 and the rest as JSON.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL, ROOT, runCli } from '../support/cli.js';
import { probeFrames, tempDir } from '../support/videos.js';

const MAKE_DATASET = join(ROOT, 'scripts', 'make-dataset');
const SEED = 11; // neither a tuning seed (1-3) nor a reported one (101-103)
const SECONDS = 3;
const FPS = 25;

function pythonReady(): boolean {
  const r = spawnSync('bash', ['-c', `source "${join(ROOT, 'scripts', 'dataset', 'find-python.sh')}"; _py_ok /usr/bin/python3 || _py_ok python3`]);
  return r.status === 0;
}
const ready = pythonReady() && spawnSync('ffmpeg', ['-version']).status === 0 && existsSync(MODEL);

function makeSequence(out: string, seed: number, seconds: number) {
  const r = spawnSync('bash', [MAKE_DATASET, '--sequence', '--seed', String(seed), '--seconds', String(seconds), '--out', out, '--quiet'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
}

describe.skipIf(!ready)('make-dataset --sequence and eval --tracks (python3 with numpy/Pillow, ffmpeg, the bundled model)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let seq: string;
  beforeAll(() => {
    tmp = tempDir('tracks');
    seq = join(tmp.dir, 'seq');
    makeSequence(seq, SEED, SECONDS);
  }, 120_000);
  afterAll(() => tmp.cleanup());

  it('writes seqinfo.ini, gt/gt.txt in MOTChallenge columns, the MP4 and as many frames as it has', () => {
    const n = SECONDS * FPS;
    const name = `synth-traffic-${SEED}`;
    expect(readFileSync(join(seq, 'seqinfo.ini'), 'utf8')).toBe(
      `[Sequence]\nname=${name}\nimDir=img1\nframeRate=${FPS}\nseqLength=${n}\nimWidth=640\nimHeight=360\nimExt=.jpg\n`,
    );
    const frames = readdirSync(join(seq, 'img1')).sort();
    expect(frames).toHaveLength(n);
    expect(frames[0]).toBe('000001.jpg');
    expect(frames[n - 1]).toBe(`${String(n).padStart(6, '0')}.jpg`);
    const video = probeFrames(join(seq, `${name}.mp4`));
    expect(video).toMatchObject({ count: n, width: 640, height: 360, fps: `${FPS}/1` });

    const lines = readFileSync(join(seq, 'gt', 'gt.txt'), 'utf8')
      .trimEnd()
      .split('\n');
    const seen = new Set<string>();
    const frameOf = new Map<number, number[]>();
    const visibilities: number[] = [];
    for (const line of lines) {
      const cols = line.split(',');
      expect(cols).toHaveLength(9);
      const [frame, id, x, y, w, h, conf, cls, vis] = cols.map(Number);
      expect(cols.every((c) => c.trim() !== '' && Number.isFinite(Number(c)))).toBe(true);
      expect(Number.isInteger(frame) && frame >= 1 && frame <= n).toBe(true);
      expect(Number.isInteger(id) && id >= 1).toBe(true);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(w).toBeGreaterThanOrEqual(1);
      expect(h).toBeGreaterThanOrEqual(1);
      expect(x + w).toBeLessThanOrEqual(640.01);
      expect(y + h).toBeLessThanOrEqual(360.01);
      expect([0, 1]).toContain(conf);
      expect([1, 3, 4]).toContain(cls); // MOT17: pedestrian, car, bicycle
      expect(vis >= 0 && vis <= 1).toBe(true);
      const key = `${frame}:${id}`;
      expect(seen.has(key)).toBe(false); // one box per object and frame
      seen.add(key);
      frameOf.set(id, [...(frameOf.get(id) ?? []), frame]);
      visibilities.push(vis);
    }
    // all three classes, objects that enter or leave during the clip, partly and fully hidden boxes
    expect(new Set(lines.map((l) => l.split(',')[7]))).toEqual(new Set(['1', '3', '4']));
    const spans = [...frameOf.values()];
    expect(spans.some((f) => Math.min(...f) > 1)).toBe(true);
    expect(spans.some((f) => Math.max(...f) < n)).toBe(true);
    expect(visibilities.some((v) => v > 0.1 && v < 0.6)).toBe(true);
    expect(visibilities.some((v) => v < 0.05)).toBe(true);
  });

  it('is deterministic from the seed', () => {
    const a = join(tmp.dir, 'a');
    const b = join(tmp.dir, 'b');
    makeSequence(a, 5, 0.4);
    makeSequence(b, 5, 0.4);
    const gt = (d: string) => readFileSync(join(d, 'gt', 'gt.txt'), 'utf8');
    expect(gt(a).length).toBeGreaterThan(0);
    expect(gt(a)).toBe(gt(b));
    makeSequence(b, 6, 0.4);
    expect(gt(b)).not.toBe(gt(a));
  }, 60_000);

  it('eval --tracks prints the table and writes mota, idf1, id_switches and the counts behind them', async () => {
    const json = join(tmp.dir, 'tracks.json');
    const r = await runCli(['eval', '--tracks', '-m', MODEL, '-d', seq, '--json', json], { timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^class\s+MOTA\s+IDF1\s+IDsw\s+MOTP/m);
    expect(r.stdout).toMatch(/^all\s+\d\.\d{3}\s+\d\.\d{3}\s+\d+\s/m);
    const doc = JSON.parse(readFileSync(json, 'utf8')) as Record<string, number> & { classes: Record<string, Record<string, number>> };
    expect(Object.keys(doc).slice(0, 3)).toEqual(['mota', 'idf1', 'id_switches']);
    expect(doc).toMatchObject({ frames: SECONDS * FPS, detector_frames: SECONDS * FPS, interval: 0, fps: FPS, threshold: 0.4, iou: 0.5 });
    // the counts add up: every considered box is matched or missed, every scored box matched or false
    expect(doc.matches + doc.fn).toBe(doc.gt);
    expect(doc.matches + doc.fp).toBe(doc.hyp);
    expect(doc.mota).toBeCloseTo(1 - (doc.fn + doc.fp + doc.id_switches) / doc.gt, 10);
    expect(doc.idf1).toBeCloseTo((2 * doc.idtp) / (doc.gt + doc.hyp), 10);
    expect(doc.precision).toBeCloseTo(doc.matches / doc.hyp, 10);
    expect(doc.recall).toBeCloseTo(doc.matches / doc.gt, 10);
    expect(Object.keys(doc.classes).sort()).toEqual(['bicycle', 'pedestrian', 'vehicle']);
    expect(Object.values(doc.classes).reduce((s, c) => s + c.gt, 0)).toBe(doc.gt);
    expect(doc.gt_objects).toBeGreaterThan(5);
    // Floors: on this clip the bundled model and the tracker score MOTA 0.85, IDF1 0.81 (0.78 to
    // 0.85 and 0.70 to 0.74 on the 12 s tuning sequences). 0.6 leaves room for other numerics
    // (ONNX Runtime versions, x264 builds) and still fails for a broken chain: boxes of the wrong
    // frame or scale (matches collapse, MOTA goes negative), ids not kept (IDF1 falls to ~0.1),
    // predicted boxes lost. MOTP (mean IoU of the matches) lies above 0.5 by construction.
    expect(doc.mota).toBeGreaterThan(0.6);
    expect(doc.idf1).toBeGreaterThan(0.6);
    expect(doc.motp).toBeGreaterThan(0.7);
    expect(doc.num_tracks).toBeGreaterThanOrEqual(doc.gt_objects * 0.5);
    expect(doc.num_tracks).toBeLessThan(doc.gt_objects * 3);
    expect(doc.id_switches).toBeLessThan(doc.gt * 0.1);
  }, 120_000);

  it('--interval 2 runs the detector on every third frame; the frames between carry predicted boxes', async () => {
    const json = join(tmp.dir, 'tracks-2.json');
    const r = await runCli(['eval', '--tracks', '-m', MODEL, '-d', seq, '--interval', '2', '--json', json], { timeoutMs: 120_000 });
    expect(r.code).toBe(0);
    const doc = JSON.parse(readFileSync(json, 'utf8')) as Record<string, number>;
    expect(doc).toMatchObject({ interval: 2, frames: 75, detector_frames: 25 });
    // without predicted boxes on the skipped frames recall would be at most a third
    expect(doc.recall).toBeGreaterThan(0.6);
    expect(doc.idf1).toBeGreaterThan(0.5);
  }, 120_000);

  it('a bad SEQDIR or a missing gt/gt.txt is one line, exit 2, before the model is loaded', async () => {
    const missing = await runCli(['eval', '--tracks', '-m', MODEL, '-d', join(tmp.dir, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/nope: not found/);
    const noGt = join(tmp.dir, 'no-gt');
    mkdirSync(noGt);
    writeFileSync(join(noGt, 'seqinfo.ini'), readFileSync(join(seq, 'seqinfo.ini')));
    const r = await runCli(['eval', '--tracks', '-m', MODEL, '-d', noGt]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/gt\/gt\.txt: not found/);
    mkdirSync(join(noGt, 'gt'));
    writeFileSync(join(noGt, 'gt', 'gt.txt'), '1,1,2,3\n');
    const bad = await runCli(['eval', '--tracks', '-m', MODEL, '-d', noGt]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/gt\.txt: MOTChallenge line 1: expected frame,id,x,y,w,h/);
    const noSeq = await runCli(['eval', '--tracks', '-m', MODEL]);
    expect(noSeq.code).toBe(2);
    expect(noSeq.stderr).toMatch(/-d SEQDIR is required/);
  }, 60_000);
});

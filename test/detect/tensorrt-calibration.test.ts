import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findCalibrationSources, spread, writeCalibrationTensors } from '../../daemon/detect/tensorrt-calibration.js';
import { ConfigError } from '../../daemon/core/errors.js';
import { readImage, writeImage } from '../../daemon/media/image-io.js';
import * as native from '../../daemon/native.js';
import { makeTestVideo, tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('trt-calib');
afterAll(cleanup);

const spec: native.PreprocessSpec = { width: 48, height: 40, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], color: 'rgb', resize: 'stretch' };

describe('INT8 calibration data (real ffmpeg, real addon pre-processing)', () => {
  it('spread picks evenly, keeps order, never more than asked', () => {
    expect(spread([1, 2, 3], 5)).toEqual([1, 2, 3]);
    expect(spread([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 5)).toEqual([0, 2, 4, 6, 8]);
    expect(spread([0, 1, 2, 3, 4, 5, 6], 3)).toEqual([0, 2, 4]);
  });

  it('finds images and recordings in nested folders (as the recorder lays them out), skips the rest', async () => {
    const root = join(dir, 'src');
    mkdirSync(join(root, 'front', '2026-11-24'), { recursive: true });
    writeFileSync(join(root, 'notes.txt'), 'x');
    writeFileSync(join(root, '.hidden.png'), 'x');
    writeFileSync(join(root, 'a.JPG'), 'x');
    writeFileSync(join(root, 'front', '2026-11-24', '10-00-00.mp4'), 'x');
    const found = await findCalibrationSources(root);
    expect(found).toEqual({ images: [join(root, 'a.JPG')], videos: [join(root, 'front', '2026-11-24', '10-00-00.mp4')] });
    await expect(findCalibrationSources(join(dir, 'missing'))).rejects.toThrow(ConfigError);
  });

  it('writes one float32 tensor per image and per sampled video frame, identical to frame pre-processing, within the budget', async () => {
    const root = join(dir, 'mixed');
    mkdirSync(join(root, 'cam'), { recursive: true });
    const w = 75;
    const h = 41;
    const rgb = Buffer.alloc(w * h * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 7) % 256;
    await writeImage(join(root, 'one.png'), rgb, w, h);
    makeTestVideo(join(root, 'cam', 'seg.mp4'), { width: 96, height: 64, fps: 10, frames: 40 });
    const out = join(dir, 'tensors');
    mkdirSync(out);
    const progress: string[] = [];
    const files = await writeCalibrationTensors({ dir: root, spec, outDir: out, maxImages: 6, framesPerVideo: 4, onProgress: (l) => progress.push(l) });
    expect(files).toHaveLength(5); // 1 image + 4 video frames
    expect(readdirSync(out).sort()).toEqual(files.map((f) => f.slice(out.length + 1)).sort());
    for (const f of files) expect(readFileSync(f).length).toBe(3 * spec.width * spec.height * 4);
    const img = await readImage(join(root, 'one.png'));
    const expected = new Float32Array(3 * spec.width * spec.height);
    await native.preprocess(img.data, img.width, img.height, spec, expected);
    expect(new Float32Array(new Uint8Array(readFileSync(files[0])).buffer)).toEqual(expected);
    // video frames differ from each other (sampled over the clip, not one frame repeated)
    const v1 = readFileSync(files[1]);
    const v4 = readFileSync(files[4]);
    expect(v1.equals(v4)).toBe(false);
    expect(progress.at(-1)).toBe('calibration: 5 tensors of 48x40 prepared');

    const capped = await writeCalibrationTensors({ dir: root, spec, outDir: out, maxImages: 2, framesPerVideo: 50 });
    expect(capped).toHaveLength(2);
  });

  it('an empty folder is a ConfigError that says what INT8 needs', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const err = await writeCalibrationTensors({ dir: empty, spec, outDir: empty }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/no calibration images or videos .* found; INT8 needs/);
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeFailure } from '../../daemon/core/errors.js';
import { ffmpegPath, ffprobePath, listImages, readImage, writeImage } from '../../daemon/media/image-io.js';

/** A deterministic test pattern: gradients plus a few sharp edges. */
function pattern(width: number, height: number): Buffer {
  const buf = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      buf[i] = (x * 255) / (width - 1);
      buf[i + 1] = (y * 255) / (height - 1);
      buf[i + 2] = (x + y) % 64 < 32 ? 40 : 200;
    }
  }
  return buf;
}

function meanAbsDiff(a: Buffer, b: Buffer): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

describe('image-io', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'trt-imageio-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves ffmpeg and ffprobe binaries that run', () => {
    expect(execFileSync(ffmpegPath(), ['-version']).toString()).toMatch(/^ffmpeg version/);
    expect(execFileSync(ffprobePath(), ['-version']).toString()).toMatch(/^ffprobe version/);
  });

  it('writes RGBA pixels (the Jetson frames calibration capture saves) as the same image as RGB24', async () => {
    const w = 21;
    const h = 13;
    const rgb = pattern(w, h);
    const rgba = Buffer.alloc(w * h * 4);
    for (let p = 0; p < w * h; p++) {
      rgb.copy(rgba, p * 4, p * 3, p * 3 + 3);
      rgba[p * 4 + 3] = p % 256;
    }
    await writeImage(join(dir, 'from-rgba.png'), rgba, w, h, 'rgba');
    await writeImage(join(dir, 'from-rgb.png'), rgb, w, h);
    const a = await readImage(join(dir, 'from-rgba.png'));
    expect(a.data.equals((await readImage(join(dir, 'from-rgb.png'))).data)).toBe(true);
    expect(a.data.equals(rgb)).toBe(true);
    await expect(writeImage(join(dir, 'short.png'), rgb, w, h, 'rgba')).rejects.toThrow(`expected ${w * h * 4} bytes of RGBA for ${w}x${h}, got ${w * h * 3}`);
  });

  it('writes I420 frames (what the ffmpeg sources hand over, odd sizes too) as their colours', async () => {
    const w = 21;
    const h = 13;
    const cw = 11;
    const ch = 7;
    // BT.601 video-range red on the left half of the chroma, blue on the right; luma to match
    const i420 = Buffer.alloc(w * h + 2 * cw * ch);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) i420[y * w + x] = x >> 1 < 5 ? 82 : 41;
    for (let cy = 0; cy < ch; cy++) {
      for (let cx = 0; cx < cw; cx++) {
        i420[w * h + cy * cw + cx] = cx < 5 ? 90 : 240;
        i420[w * h + cw * ch + cy * cw + cx] = cx < 5 ? 240 : 110;
      }
    }
    await writeImage(join(dir, 'from-i420.png'), i420, w, h, 'i420');
    const img = await readImage(join(dir, 'from-i420.png'));
    expect([img.width, img.height]).toEqual([w, h]);
    const at = (x: number, y: number) => Array.from(img.data.subarray((y * w + x) * 3, (y * w + x) * 3 + 3));
    for (const [x, want] of [
      [2, [255, 0, 0]],
      [18, [0, 0, 255]],
    ] as const) {
      at(x, 6).forEach((v, c) => expect(Math.abs(v - want[c]), `pixel ${x},6 channel ${c}`).toBeLessThanOrEqual(4));
    }
    await expect(writeImage(join(dir, 'short.png'), i420.subarray(1), w, h, 'i420')).rejects.toThrow(`expected ${i420.length} bytes of I420 for ${w}x${h}`);
  });

  it('PNG round trip keeps every pixel (odd size)', async () => {
    const w = 67;
    const h = 33;
    const rgb = pattern(w, h);
    const file = join(dir, 'p.png');
    await writeImage(file, rgb, w, h);
    const back = await readImage(file);
    expect(back.width).toBe(w);
    expect(back.height).toBe(h);
    expect(back.data.length).toBe(w * h * 3);
    expect(back.data.equals(rgb)).toBe(true);
  });

  it('BMP round trip keeps every pixel', async () => {
    const rgb = pattern(20, 10);
    const file = join(dir, 'p.bmp');
    await writeImage(file, rgb, 20, 10);
    const back = await readImage(file);
    expect(back.data.equals(rgb)).toBe(true);
  });

  it('JPEG round trip is close', async () => {
    const w = 128;
    const h = 96;
    const rgb = pattern(w, h);
    const file = join(dir, 'p.jpg');
    await writeImage(file, rgb, w, h);
    const back = await readImage(file);
    expect([back.width, back.height]).toEqual([w, h]);
    expect(back.data.equals(rgb)).toBe(false);
    expect(meanAbsDiff(back.data, rgb)).toBeLessThan(4);
  });

  it('reads RGBA images as RGB24', async () => {
    const file = join(dir, 'rgba.png');
    execFileSync(ffmpegPath(), ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=0x10A0F0:s=5x3,format=rgba', '-frames:v', '1', '-pix_fmt', 'rgba', '-y', file]);
    const img = await readImage(file);
    expect([img.width, img.height, img.data.length]).toEqual([5, 3, 45]);
    expect([...img.data.subarray(0, 3)]).toEqual([0x10, 0xa0, 0xf0]);
  });

  it('writes through a temporary file and leaves nothing else behind', async () => {
    const sub = join(dir, 'atomic');
    mkdirSync(sub);
    await writeImage(join(sub, 'a.png'), pattern(8, 8), 8, 8);
    await writeImage(join(sub, 'a.png'), pattern(8, 8), 8, 8); // overwrite
    expect(readdirSync(sub)).toEqual(['a.png']);
  });

  it('one-line errors for missing files, non-images and bad writes', async () => {
    const missing = join(dir, 'missing.png');
    await expect(readImage(missing)).rejects.toThrowError(`${missing}: not found (check the path)`);
    const bogus = join(dir, 'bogus.png');
    writeFileSync(bogus, 'this is not a png');
    const err = await readImage(bogus).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeFailure);
    expect((err as Error).message).toMatch(new RegExp(`^${bogus.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not an image ffmpeg can read`));
    expect((err as Error).message).not.toContain('\n');
    await expect(writeImage(join(dir, 'x.gif'), pattern(4, 4), 4, 4)).rejects.toThrowError(/cannot write images of type "\.gif"/);
    await expect(writeImage(join(dir, 'short.png'), Buffer.alloc(10), 4, 4)).rejects.toThrowError(/expected 48 bytes/);
    await expect(writeImage(join(dir, 'no-such-dir', 'x.png'), pattern(4, 4), 4, 4)).rejects.toThrowError(
      /x\.png: cannot write \(folder .*no-such-dir does not exist\)$/,
    );
  });

  it('listImages: image extensions only, any case, sorted, full paths', async () => {
    const sub = join(dir, 'list');
    mkdirSync(sub);
    for (const n of ['b.JPG', 'a.png', 'c.jpeg', 'd.bmp', 'e.txt', 'f.gif', '.hidden.png', '10.png', '2.png']) writeFileSync(join(sub, n), '');
    expect(await listImages(sub)).toEqual(['10.png', '2.png', 'a.png', 'b.JPG', 'c.jpeg', 'd.bmp'].map((n) => join(sub, n)));
    await expect(listImages(join(dir, 'nope'))).rejects.toThrowError(/directory not found/);
  });
});

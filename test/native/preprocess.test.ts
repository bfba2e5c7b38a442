import { describe, expect, it } from 'vitest';
import { preprocess, type PreprocessSpec } from '../../daemon/native.js';

/** An RGB24 frame from per-pixel [r, g, b] triples, row by row. */
function frame(pixels: [number, number, number][]): Buffer {
  return Buffer.from(pixels.flat());
}

function spec(over: Partial<PreprocessSpec>): PreprocessSpec {
  return { width: 2, height: 2, mean: [0, 0, 0], std: [1, 1, 1], color: 'rgb', resize: 'stretch', ...over };
}

/** Plane c of an NCHW tensor as rows of numbers in 0..255 (undoing /255). */
function plane(out: Float32Array, c: number, w: number, h: number, toPx = (v: number) => v * 255): number[][] {
  const rows: number[][] = [];
  for (let y = 0; y < h; y++) rows.push(Array.from(out.subarray(c * w * h + y * w, c * w * h + (y + 1) * w), toPx));
  return rows;
}

function expectRowsClose(actual: number[][], expected: number[][]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, y) => row.forEach((v, x) => expect(v, `row ${y} col ${x}`).toBeCloseTo(expected[y][x], 3)));
}

describe('preprocess', () => {
  it('stretches 2x2 to 4x4 with bilinear weights (pixel centres aligned)', async () => {
    // R: 0 100 / 200 40, G: 255 everywhere, B: 10 everywhere
    const f = frame([[0, 255, 10], [100, 255, 10], [200, 255, 10], [40, 255, 10]]);
    const out = new Float32Array(3 * 4 * 4);
    const t = await preprocess(f, 2, 2, spec({ width: 4, height: 4 }), out);
    expect(t).toEqual({ scaleX: 2, scaleY: 2, padX: 0, padY: 0 });
    // x taps: p0 | .75p0+.25p1 | .25p0+.75p1 | p1 (same for y)
    expectRowsClose(plane(out, 0, 4, 4), [
      [0, 25, 75, 100],
      [50, 58.75, 76.25, 85],
      [150, 126.25, 78.75, 55],
      [200, 160, 80, 40],
    ]);
    expectRowsClose(plane(out, 1, 4, 4), Array(4).fill([255, 255, 255, 255]));
    expectRowsClose(plane(out, 2, 4, 4), Array(4).fill([10, 10, 10, 10]));
  });

  it('applies ((px/255) - mean) / std per tensor channel', async () => {
    const f = frame([[51, 102, 255], [0, 0, 0], [255, 255, 255], [153, 204, 25.5 * 2]]);
    const out = new Float32Array(12);
    await preprocess(f, 2, 2, spec({ mean: [0.5, 0.25, 0], std: [0.25, 0.5, 2] }), out);
    const norm = (px: number, c: number) => (px / 255 - [0.5, 0.25, 0][c]) / [0.25, 0.5, 2][c];
    expectRowsClose(plane(out, 0, 2, 2, (v) => v), [[-1.2, -2], [2, 0.4]]);
    expectRowsClose(plane(out, 1, 2, 2, (v) => v), [[norm(102, 1), -0.5], [1.5, 1.1]]);
    expectRowsClose(plane(out, 2, 2, 2, (v) => v), [[0.5, 0], [0.5, 0.1]]);
  });

  it('bgr puts blue in tensor channel 0 and red in channel 2', async () => {
    const f = frame([[10, 20, 30], [40, 50, 60], [70, 80, 90], [100, 110, 120]]);
    const out = new Float32Array(12);
    await preprocess(f, 2, 2, spec({ color: 'bgr' }), out);
    expectRowsClose(plane(out, 0, 2, 2), [[30, 60], [90, 120]]);
    expectRowsClose(plane(out, 1, 2, 2), [[20, 50], [80, 110]]);
    expectRowsClose(plane(out, 2, 2, 2), [[10, 40], [70, 100]]);
  });

  it('letterbox pads a wide frame top and bottom with grey 127.5', async () => {
    // 4x2 frame into 4x4: scale 1, content rows 1..2, pad rows 0 and 3
    const px: [number, number, number][] = [];
    for (let i = 0; i < 8; i++) px.push([i * 10, 0, 0]);
    const out = new Float32Array(3 * 16);
    const t = await preprocess(frame(px), 4, 2, spec({ width: 4, height: 4, resize: 'letterbox' }), out);
    expect(t).toEqual({ scaleX: 1, scaleY: 1, padX: 0, padY: 1 });
    expectRowsClose(plane(out, 0, 4, 4), [
      [127.5, 127.5, 127.5, 127.5],
      [0, 10, 20, 30],
      [40, 50, 60, 70],
      [127.5, 127.5, 127.5, 127.5],
    ]);
    expectRowsClose(plane(out, 1, 4, 4), [[127.5, 127.5, 127.5, 127.5], [0, 0, 0, 0], [0, 0, 0, 0], [127.5, 127.5, 127.5, 127.5]]);
  });

  it('letterbox pads a tall frame left and right, padding normalised like pixels', async () => {
    // 2x4 frame into 4x4: content columns 1..2
    const px: [number, number, number][] = [];
    for (let i = 0; i < 8; i++) px.push([255, 255, 255]);
    const out = new Float32Array(3 * 16);
    const t = await preprocess(frame(px), 2, 4, spec({ width: 4, height: 4, resize: 'letterbox', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }), out);
    expect(t).toEqual({ scaleX: 1, scaleY: 1, padX: 1, padY: 0 });
    // white -> (1-0.5)/0.5 = 1; grey 127.5 -> (0.5-0.5)/0.5 = 0
    expectRowsClose(plane(out, 2, 4, 4, (v) => v), Array(4).fill([0, 1, 1, 0]));
  });

  it('letterbox downscales keeping the aspect ratio and reports the transform', async () => {
    // 4x2 frame into 2x2: scale 0.5 -> content 2x1 in row 0, row 1 is padding.
    // Output (0,0) samples source (0.5, 0.5): the mean of the top-left 2x2 block.
    const r = [0, 40, 100, 200, 80, 120, 20, 60];
    const out = new Float32Array(12);
    const t = await preprocess(frame(r.map((v) => [v, 0, 0] as [number, number, number])), 4, 2, spec({ resize: 'letterbox' }), out);
    expect(t).toEqual({ scaleX: 0.5, scaleY: 0.5, padX: 0, padY: 0 });
    expectRowsClose(plane(out, 0, 2, 2), [[(0 + 40 + 80 + 120) / 4, (100 + 200 + 20 + 60) / 4], [127.5, 127.5]]);
  });

  it('stretch reports independent scales per axis', async () => {
    const out = new Float32Array(3 * 3 * 2);
    const t = await preprocess(Buffer.alloc(6 * 4 * 3), 6, 4, spec({ width: 3, height: 2 }), out);
    expect(t).toEqual({ scaleX: 0.5, scaleY: 0.5, padX: 0, padY: 0 });
    const t2 = await preprocess(Buffer.alloc(4 * 4 * 3), 4, 4, spec({ width: 2, height: 8 }), new Float32Array(3 * 16));
    expect(t2).toEqual({ scaleX: 0.5, scaleY: 2, padX: 0, padY: 0 });
  });

  it('runs off the event loop: a 1920x1080 frame does not block setImmediate', async () => {
    const w = 1920;
    const h = 1080;
    const f = Buffer.alloc(w * h * 3);
    for (let i = 0; i < f.length; i++) f[i] = (i * 7) & 0xff;
    const s = spec({ width: 1280, height: 720, resize: 'letterbox', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    const out = new Float32Array(3 * 1280 * 720);
    let ticks = 0;
    let running = true;
    const tick = () => {
      ticks++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const transforms: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      let settled = false;
      const job = preprocess(f, w, h, s, out).then((t) => {
        settled = true;
        return t;
      });
      expect(settled).toBe(false); // nothing happened synchronously
      transforms.push(await job);
    }
    running = false;
    expect(ticks).toBeGreaterThan(0);
    expect(transforms[0]).toEqual({ scaleX: 1280 / 1920, scaleY: 720 / 1080, padX: 0, padY: 0 });
    // spot check: output (0,0) samples source (0.25, 0.25): 9/16 p00 + 3/16 p01 + 3/16 p10 + 1/16 p11 (red)
    const red = (x: number, y: number) => f[(y * w + x) * 3];
    const px = (9 * red(0, 0) + 3 * red(1, 0) + 3 * red(0, 1) + red(1, 1)) / 16;
    expect(out[0]).toBeCloseTo((px / 255 - 0.5) / 0.5, 4);
  });

  describe('bad inputs reject with a clear message', () => {
    const good = () => ({ f: Buffer.alloc(12), out: new Float32Array(12) });

    it('frame length does not match width*height*3', async () => {
      await expect(preprocess(Buffer.alloc(11), 2, 2, spec({}), new Float32Array(12))).rejects.toThrow(
        'preprocess: frame is 11 bytes but a 2x2 RGB24 frame is 12 (width*height*3) and an RGBA frame 16 (width*height*4)',
      );
    });

    it('tensor length does not match the model input', async () => {
      await expect(preprocess(good().f, 2, 2, spec({ width: 4 }), new Float32Array(12))).rejects.toThrow(
        'preprocess: out has 12 elements but a 3x2x4 tensor needs 24',
      );
    });

    it('wrong types and values', async () => {
      const { f, out } = good();
      await expect(preprocess('abc' as unknown as Buffer, 2, 2, spec({}), out)).rejects.toThrow('preprocess: frame must be a Uint8Array (got "abc")');
      await expect(preprocess(f, 2.5, 2, spec({}), out)).rejects.toThrow('preprocess: width must be an integer from 1 to 16384 (got 2.5)');
      await expect(preprocess(f, 2, 2, spec({ color: 'yuv' as 'rgb' }), out)).rejects.toThrow('preprocess: spec.color must be one of "rgb", "bgr" (got "yuv")');
      await expect(preprocess(f, 2, 2, spec({ resize: 'crop' as 'stretch' }), out)).rejects.toThrow(/spec.resize must be one of "stretch", "letterbox"/);
      await expect(preprocess(f, 2, 2, spec({ std: [1, 0, 1] }), out)).rejects.toThrow('preprocess: spec.std[1] must not be 0');
      await expect(preprocess(f, 2, 2, spec({ mean: [1, 2] as unknown as [number, number, number] }), out)).rejects.toThrow(
        'preprocess: spec.mean must be an array of 3 numbers',
      );
      await expect(preprocess(f, 2, 2, spec({}), new Int32Array(12) as unknown as Float32Array)).rejects.toThrow(
        'preprocess: out must be a Float32Array (got a Int32Array)',
      );
      await expect(preprocess(f, 2, 2, null as unknown as PreprocessSpec, out)).rejects.toThrow('preprocess: spec must be an object (got null)');
    });
  });

  it('reads RGBA frames (nvvidconv output) exactly like the same RGB24 frame; alpha is ignored', async () => {
    const w = 37;
    const h = 23;
    const rgb = Buffer.alloc(w * h * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 7919 + 13) % 256;
    const rgba = Buffer.alloc(w * h * 4);
    for (let p = 0; p < w * h; p++) {
      rgb.copy(rgba, p * 4, p * 3, p * 3 + 3);
      rgba[p * 4 + 3] = (p * 31) % 256; // any alpha
    }
    for (const over of [{ width: 16, height: 9 }, { width: 20, height: 20, resize: 'letterbox' as const, color: 'bgr' as const, mean: [0.5, 0.4, 0.3] as [number, number, number] }]) {
      const a = new Float32Array(3 * over.width * over.height);
      const b = new Float32Array(3 * over.width * over.height);
      const ta = await preprocess(rgb, w, h, spec(over), a);
      const tb = await preprocess(rgba, w, h, spec(over), b);
      expect(tb).toEqual(ta);
      expect(Array.from(b)).toEqual(Array.from(a));
    }
  });

  describe('I420 frames (what the ffmpeg sources hand over)', () => {
    /** BT.601 limited range, integer, as the addon converts (frame_format.h); negative sums clamp to 0. */
    const toRgb = (y: number, u: number, v: number): [number, number, number] => {
      const c = 298 * (y - 16) + 128;
      const clamp = (n: number) => Math.min(255, Math.max(0, Math.trunc(n / 256)));
      return [clamp(c + 409 * (v - 128)), clamp(c - 100 * (u - 128) - 208 * (v - 128)), clamp(c + 516 * (u - 128))];
    };
    /**
     * A packed I420 frame (Y, then U, then V, chroma sizes rounded up) of a smooth picture with
     * colours well inside the RGB cube, and its RGB24 conversion.
     */
    function i420Frame(w: number, h: number, seed: number): { i420: Buffer; rgb: Buffer } {
      const cw = Math.ceil(w / 2);
      const ch = Math.ceil(h / 2);
      // gradients across the frame: neighbours alike, so a 2x2 block's shared chroma suits all four
      const colour = (x: number, y: number): [number, number, number] => [
        60 + Math.floor((130 * x) / w),
        60 + Math.floor((130 * y) / h),
        50 + Math.floor(65 * (x / w + y / h)) + (seed % 10),
      ];
      const i420 = Buffer.alloc(w * h + 2 * cw * ch);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const [r, g, b] = colour(x, y);
          i420[y * w + x] = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
        }
      }
      for (let cy = 0; cy < ch; cy++) {
        for (let cx = 0; cx < cw; cx++) {
          const [r, g, b] = colour(2 * cx, 2 * cy);
          i420[w * h + cy * cw + cx] = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
          i420[w * h + cw * ch + cy * cw + cx] = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
        }
      }
      const rgb = Buffer.alloc(w * h * 3);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const c = (y >> 1) * cw + (x >> 1);
          rgb.set(toRgb(i420[y * w + x], i420[w * h + c], i420[w * h + cw * ch + c]), (y * w + x) * 3);
        }
      }
      return { i420, rgb };
    }

    it('give the tensor of the same frame converted to RGB24 first, to within its rounding (odd sizes, stretch and letterbox)', async () => {
      for (const [w, h] of [[37, 23], [64, 48], [1, 1], [3, 2]]) {
        const { i420, rgb } = i420Frame(w, h, w * 31 + h);
        for (const over of [{ width: 16, height: 9 }, { width: 20, height: 20, resize: 'letterbox' as const, color: 'bgr' as const, mean: [0.5, 0.4, 0.3] as [number, number, number] }]) {
          const a = new Float32Array(3 * over.width * over.height);
          const b = new Float32Array(3 * over.width * over.height);
          const ta = await preprocess(rgb, w, h, spec(over), a);
          const tb = await preprocess(i420, w, h, spec(over), b, 'i420');
          expect(tb).toEqual(ta);
          // std 1: a difference of 1/255 is one grey level; the RGB24 bytes were rounded, I420 is blended then converted
          let worst = 0;
          for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k] - b[k]) * 255);
          expect(worst, `${w}x${h}`).toBeLessThanOrEqual(1.01);
        }
      }
    });

    it('read BT.601 colours: video-range red, green, blue, black and white', async () => {
      // Y, U, V of the 75%-free primaries in BT.601 limited range, and the RGB they stand for
      const cases: Array<[[number, number, number], [number, number, number]]> = [
        [[82, 90, 240], [255, 0, 0]],
        [[145, 54, 34], [0, 255, 0]],
        [[41, 240, 110], [0, 0, 255]],
        [[16, 128, 128], [0, 0, 0]],
        [[235, 128, 128], [255, 255, 255]],
      ];
      for (const [[y, u, v], want] of cases) {
        const f = Buffer.from([y, y, y, y, u, v]); // 2x2: four Y, one U, one V
        const out = new Float32Array(3 * 4);
        await preprocess(f, 2, 2, spec({}), out, 'i420');
        for (let c = 0; c < 3; c++) expect(Math.abs(out[c * 4] * 255 - want[c]), `YUV ${y},${u},${v} channel ${c}`).toBeLessThanOrEqual(3);
      }
    });

    it('reject a frame of the wrong length or an unknown format', async () => {
      await expect(preprocess(Buffer.alloc(16), 3, 3, spec({}), new Float32Array(12), 'i420')).rejects.toThrow('preprocess: frame is 16 bytes but a 3x3 i420 frame is 17');
      await expect(preprocess(Buffer.alloc(6), 2, 2, spec({}), new Float32Array(12), 'nv12' as 'i420')).rejects.toThrow(
        'preprocess: format must be "rgb24", "rgba" or "i420" (got "nv12")',
      );
      // an I420-sized frame without its format is neither RGB24 nor RGBA
      await expect(preprocess(Buffer.alloc(6), 2, 2, spec({}), new Float32Array(12))).rejects.toThrow('pass the format for I420');
    });
  });
});

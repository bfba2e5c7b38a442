import { describe, expect, it } from 'vitest';
import { APPEARANCE_DIMS, decodeSync, type PostprocessOptions, type RawDetection } from '../../daemon/native.js';
import { similarity } from '../../daemon/track/tracker.js';

// Model input 100x100, source 200x100, stretch: src x = nx * 200, src y = ny * 100.
const options = (over: Partial<PostprocessOptions> = {}): PostprocessOptions => ({
  inputWidth: 100,
  inputHeight: 100,
  srcWidth: 200,
  srcHeight: 100,
  transform: { scaleX: 0.5, scaleY: 1, padX: 0, padY: 0 },
  threshold: 0.5,
  nmsIou: 0.45,
  topK: 100,
  classes: [],
  ignoreClasses: [0],
  ...over,
});

const RED = [255, 0, 0];
const BLUE = [0, 0, 255];
// A 200x100 picture: the left half red above row 52 and blue from it, the right half the other way
// round. A box of the full height has its inner part at rows 10..94 (10% off the top, 5% off the
// bottom), cut into the stripes 10..51 and 52..94: each stripe one colour.
const colourAt = (x: number, y: number): number[] => ((x < 100) === (y < 52) ? RED : BLUE);

function rgbFrame(): Uint8Array {
  const f = new Uint8Array(200 * 100 * 3);
  for (let y = 0; y < 100; y++) for (let x = 0; x < 200; x++) f.set(colourAt(x, y), (y * 200 + x) * 3);
  return f;
}

// BT.601 limited range as the addon converts (frame_format.h rgbToYuv)
const yuv = ([r, g, b]: number[]): number[] => [
  ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16,
  ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128,
  ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128,
];

function i420Frame(): Uint8Array {
  const f = new Uint8Array(200 * 100 + 2 * 100 * 50);
  for (let y = 0; y < 100; y++) for (let x = 0; x < 200; x++) f[y * 200 + x] = yuv(colourAt(x, y))[0];
  for (let y = 0; y < 50; y++)
    for (let x = 0; x < 100; x++) {
      const [, u, v] = yuv(colourAt(2 * x, 2 * y));
      f[20000 + y * 100 + x] = u;
      f[25000 + y * 100 + x] = v;
    }
  return f;
}

// nms7 rows (image, label, score, normalised corners): A the left half, B the right half, C a
// narrower box inside A
const rows = Float32Array.from([0, 1, 0.9, 0, 0, 0.5, 1, 0, 1, 0.8, 0.5, 0, 1, 1, 0, 1, 0.7, 0.1, 0, 0.4, 1]);
const layout = { layout: 'nms7' as const, detections: 0, keepCount: null, count: 3 };
const byScore = (ds: RawDetection[]) => [0.9, 0.8, 0.7].map((s) => ds.find((d) => Math.abs(d.score - s) < 1e-6) as RawDetection);

describe('appearance features (native/src/appearance.cc) in the decode call', () => {
  it('gives each box one unit-length histogram per stripe, with the bins of its colours worked out by hand', () => {
    const [a, b, c] = byScore(decodeSync([rows], layout, options({ appearance: true }), { data: rgbFrame(), width: 200, height: 100, format: 'rgb24' }));
    for (const d of [a, b, c]) {
      expect(d.appearance).toBeInstanceOf(Float32Array);
      expect(d.appearance).toHaveLength(APPEARANCE_DIMS);
      expect(similarity(d.appearance as Float32Array, d.appearance as Float32Array)).toBeCloseTo(1, 5);
    }
    // red is Y 82, U 90, V 240: bins (4 luma over 16..235, 4 chroma over 16..240) 1, 1, 3 -> bin
    // (1*4 + 1)*4 + 3 = 23; blue is Y 41, U 240, V 110: bins 0, 3, 1 -> bin (0*4 + 3)*4 + 1 = 13.
    // The upper stripe's 64 bins come first; each stripe sums to 1 before the square root and
    // the scaling by 1/sqrt(2) (two stripes)
    const nonZero = (f: Float32Array) => [...f.keys()].filter((k) => f[k] !== 0).map((k) => [k, Number(f[k].toFixed(4))]);
    const half = Number(Math.SQRT1_2.toFixed(4));
    expect(nonZero(a.appearance as Float32Array)).toEqual([
      [23, half],
      [64 + 13, half],
    ]);
    expect(nonZero(b.appearance as Float32Array)).toEqual([
      [13, half],
      [64 + 23, half],
    ]);
    // the same colours in the same order: similarity 1 whatever the size; swapped stripes: 0
    expect(similarity(a.appearance as Float32Array, c.appearance as Float32Array)).toBeCloseTo(1, 5);
    expect(similarity(a.appearance as Float32Array, b.appearance as Float32Array)).toBe(0);
  });

  it('reads I420 and RGBA frames to the same features as RGB', () => {
    const rgb = decodeSync([rows], layout, options({ appearance: true }), { data: rgbFrame(), width: 200, height: 100, format: 'rgb24' });
    const i420 = decodeSync([rows], layout, options({ appearance: true }), { data: i420Frame(), width: 200, height: 100, format: 'i420' });
    const rgba = new Uint8Array(200 * 100 * 4);
    const src = rgbFrame();
    for (let p = 0; p < 200 * 100; p++) rgba.set(src.subarray(3 * p, 3 * p + 3), 4 * p);
    const viaRgba = decodeSync([rows], layout, options({ appearance: true }), { data: rgba, width: 200, height: 100, format: 'rgba' });
    expect(i420).toEqual(rgb);
    expect(viaRgba).toEqual(rgb);
  });

  it('adds nothing without options.appearance, and names a missing or mismatched frame', () => {
    const plain = decodeSync([rows], layout, options());
    expect(plain).toHaveLength(3);
    expect(plain.some((d) => 'appearance' in d)).toBe(false);
    expect(() => decodeSync([rows], layout, options({ appearance: true }))).toThrow('decodeSync: options.appearance needs the frame');
    expect(() => decodeSync([rows], layout, options({ appearance: true }), { data: new Uint8Array(100 * 100 * 3), width: 100, height: 100, format: 'rgb24' })).toThrow(
      'decodeSync: the frame is 100x100 but options.srcWidth x srcHeight is 200x100',
    );
  });
});

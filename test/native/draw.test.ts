import { describe, expect, it } from 'vitest';
import { draw, type DrawBox } from '../../daemon/native.js';

const GREY = 50;

function greyFrame(w: number, h: number): Buffer {
  return Buffer.alloc(w * h * 3, GREY);
}

function px(f: Buffer, w: number, x: number, y: number): [number, number, number] {
  const i = (y * w + x) * 3;
  return [f[i], f[i + 1], f[i + 2]];
}

function changed(f: Buffer, w: number, x: number, y: number): boolean {
  return px(f, w, x, y).some((v) => v !== GREY);
}

/** Every changed pixel as "x,y". */
function changedSet(f: Buffer, w: number, h: number): Set<string> {
  const s = new Set<string>();
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (changed(f, w, x, y)) s.add(`${x},${y}`);
  return s;
}

const box = (x1: number, y1: number, x2: number, y2: number, classId = 1, text = ''): DrawBox => ({ x1, y1, x2, y2, classId, text });

describe('draw', () => {
  it('draws a 2 px frame exactly on the box edges and nothing else (no label)', async () => {
    const w = 64;
    const h = 48;
    const f = greyFrame(w, h);
    await draw(f, w, h, [box(10, 20, 40, 40)]);
    const expected = new Set<string>();
    for (let y = 20; y < 40; y++) {
      for (let x = 10; x < 40; x++) {
        const onEdge = x < 12 || x >= 38 || y < 22 || y >= 38;
        if (onEdge) expected.add(`${x},${y}`);
      }
    }
    expect(changedSet(f, w, h)).toEqual(expected);
    const colour = px(f, w, 10, 20);
    expect(px(f, w, 39, 39)).toEqual(colour);
    expect(px(f, w, 25, 21)).toEqual(colour);
  });

  it('colours boxes by class id', async () => {
    const f = greyFrame(64, 48);
    await draw(f, 64, 48, [box(0, 0, 10, 10, 1), box(20, 0, 30, 10, 2), box(40, 0, 50, 10, 1)]);
    expect(px(f, 64, 0, 5)).not.toEqual(px(f, 64, 20, 5));
    expect(px(f, 64, 0, 5)).toEqual(px(f, 64, 40, 5));
  });

  it('draws the label above the box: background and text, inside and outside untouched', async () => {
    const w = 160;
    const h = 120;
    const f = greyFrame(w, h);
    const b = box(20, 60, 100, 110, 3, 'car 0.91');
    await draw(f, w, h, [b]);
    const colour = px(f, w, 20, 80);
    // label rows are above y=60; pixels of both the background colour and another (the text) exist there
    let background = 0;
    let ink = 0;
    for (let y = 0; y < 60; y++) {
      for (let x = 0; x < w; x++) {
        if (!changed(f, w, x, y)) continue;
        expect(x, 'label starts at the box left edge').toBeGreaterThanOrEqual(20);
        if (px(f, w, x, y).every((v, i) => v === colour[i])) background++;
        else ink++;
      }
    }
    expect(background).toBeGreaterThan(50);
    expect(ink).toBeGreaterThan(20);
    expect(changed(f, w, 19, 58), 'left of the label').toBe(false);
    expect(changed(f, w, 60, 85), 'inside the box').toBe(false);
    expect(changed(f, w, 120, 85), 'right of the box').toBe(false);
    expect(changed(f, w, 60, 115), 'below the box').toBe(false);
    expect(changed(f, w, 60, 20), 'far above the label').toBe(false);
  });

  it('keeps the label inside the frame for a box at the top edge and at the right edge', async () => {
    const w = 160;
    const h = 120;
    const f = greyFrame(w, h);
    await draw(f, w, h, [box(10, 0, 80, 60, 1, 'pedestrian 0.88')]);
    // no room above: the label sits just inside the box top; rows below the 2 px edge carry it
    let labelPixels = 0;
    for (let y = 2; y < 12; y++) for (let x = 12; x < 78; x++) if (changed(f, w, x, y)) labelPixels++;
    expect(labelPixels).toBeGreaterThan(100);
    expect(changed(f, w, 40, 40), 'well inside the box').toBe(false);

    const g = greyFrame(w, h);
    await draw(g, w, h, [box(150, 50, 160, 100, 2, 'vehicle 0.75')]);
    // the label is wider than the space right of x=150: it moves left and ends at the frame edge
    expect(changed(g, w, 159, 40)).toBe(true);
    expect(changed(g, w, 100, 40)).toBe(true);
  });

  it('clips boxes partly outside the frame, skips boxes fully outside, never crashes', async () => {
    const w = 64;
    const h = 48;
    const f = greyFrame(w, h);
    await draw(f, w, h, [box(-20, -20, 30, 30, 1, 'x'), box(100, 100, 200, 200, 2, 'gone'), box(50, -10, 90, 60, 4, 'a long label that is wider than the frame')]);
    expect(changed(f, w, 0, 25), 'clipped left edge').toBe(true);
    expect(changed(f, w, 29, 25), 'right edge of the first box').toBe(true);
    expect(changed(f, w, 15, 40), 'below the first box').toBe(false);
    expect(changed(f, w, 63, 30), 'clipped third box right edge').toBe(true);
    const unchanged = Buffer.from(f);
    await draw(f, w, h, [box(-50, -50, -10, -10, 1, 'nope'), box(70, 0, 90, 10, 1, 'off')]);
    expect(f.equals(unchanged)).toBe(true);
    await draw(f, w, h, []);
    expect(f.equals(unchanged)).toBe(true);
  });

  it('uses thicker lines on a 1080p frame', async () => {
    const w = 1920;
    const h = 1080;
    const f = greyFrame(w, h);
    await draw(f, w, h, [box(500, 500, 900, 900, 1)]);
    expect(changed(f, w, 502, 700)).toBe(true);
    expect(changed(f, w, 500 + 10, 700)).toBe(false);
    let thickness = 0;
    while (changed(f, w, 500 + thickness, 700)) thickness++;
    expect(thickness).toBeGreaterThan(2);
  });

  it('rejects bad inputs with a clear message', async () => {
    await expect(draw(Buffer.alloc(10), 2, 2, [])).rejects.toThrow('draw: frame is 10 bytes but a 2x2 RGB24 frame is 12 (width*height*3) and an RGBA frame 16 (width*height*4)');
    await expect(draw(Buffer.alloc(12), 2, 2, {} as unknown as DrawBox[])).rejects.toThrow('draw: boxes must be an array (got an object)');
    await expect(draw(Buffer.alloc(12), 2, 2, [{ ...box(0, 0, 1, 1), x2: NaN }])).rejects.toThrow('draw: boxes[0].x2 must be a finite number (got NaN)');
    await expect(draw(Buffer.alloc(12), 2, 2, [{ ...box(0, 0, 1, 1), text: 5 as unknown as string }])).rejects.toThrow('draw: boxes[0].text must be a string (got 5)');
    await expect(draw(Buffer.alloc(12), 2, 2, [{ ...box(0, 0, 1, 1), classId: -1 }])).rejects.toThrow('draw: boxes[0].classId must be an integer from 0 to');
  });

  it('draws the same pixels on an RGBA frame as on RGB24, leaving alpha as it was', async () => {
    const w = 120;
    const h = 80;
    const boxes = [box(10, 30, 70, 75, 1, 'vehicle 0.91'), box(60, 5, 118, 50, 3, 'pedestrian 0.5')];
    const rgb = greyFrame(w, h);
    const rgba = Buffer.alloc(w * h * 4);
    for (let p = 0; p < w * h; p++) {
      rgba.fill(GREY, p * 4, p * 4 + 3);
      rgba[p * 4 + 3] = p % 251;
    }
    await draw(rgb, w, h, boxes);
    await draw(rgba, w, h, boxes);
    let drawn = 0;
    for (let p = 0; p < w * h; p++) {
      expect([rgba[p * 4], rgba[p * 4 + 1], rgba[p * 4 + 2]], `pixel ${p}`).toEqual([rgb[p * 3], rgb[p * 3 + 1], rgb[p * 3 + 2]]);
      expect(rgba[p * 4 + 3]).toBe(p % 251);
      if (rgb[p * 3] !== GREY || rgb[p * 3 + 1] !== GREY || rgb[p * 3 + 2] !== GREY) drawn++;
    }
    expect(drawn).toBeGreaterThan(500);
  });

  it("draws on I420 frames: each pixel's luma is the BT.601 luma of what RGB24 gets, chroma follows the 2x2 blocks", async () => {
    const w = 120;
    const h = 80;
    const cw = w / 2;
    const boxes = [box(10, 30, 70, 75, 1, 'vehicle 0.91'), box(61, 5, 117, 51, 3, 'pedestrian 0.5')];
    const rgb = greyFrame(w, h);
    await draw(rgb, w, h, boxes);
    const Y0 = 100;
    const i420 = Buffer.alloc(w * h * 1.5, 128);
    i420.fill(Y0, 0, w * h);
    await draw(i420, w, h, boxes, 'i420');
    // BT.601 limited range, integer, as the addon converts colours (frame_format.h)
    const yuv = ([r, g, b]: [number, number, number]) => [
      ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16,
      ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128,
      ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128,
    ];
    let drawn = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const want = changed(rgb, w, x, y) ? yuv(px(rgb, w, x, y))[0] : Y0;
        expect(i420[y * w + x], `luma at ${x},${y}`).toBe(want);
        if (want !== Y0) drawn++;
      }
    }
    expect(drawn).toBeGreaterThan(500);
    // a 2x2 block that RGB24 left alone keeps its chroma; one wholly in a box's colour (line or label
    // background) takes that colour's chroma (text only changes the luma)
    const u = (cx: number, cy: number) => i420[w * h + cy * cw + cx];
    const v = (cx: number, cy: number) => i420[w * h + (w * h) / 4 + cy * cw + cx];
    const lineColours = [px(rgb, w, 10, 50).join(), px(rgb, w, 116, 30).join()]; // the two boxes' left / right edges
    expect(new Set(lineColours).size).toBe(2);
    let lineBlocks = 0;
    for (let cy = 0; cy < h / 2; cy++) {
      for (let cx = 0; cx < cw; cx++) {
        const block = [[0, 0], [1, 0], [0, 1], [1, 1]].map(([dx, dy]) => px(rgb, w, 2 * cx + dx, 2 * cy + dy));
        if (block.every((p) => p.every((c) => c === GREY))) {
          expect([u(cx, cy), v(cx, cy)], `chroma of block ${cx},${cy}`).toEqual([128, 128]);
        } else if (block.every((p) => p.join() === block[0].join()) && lineColours.includes(block[0].join())) {
          expect([u(cx, cy), v(cx, cy)], `chroma of block ${cx},${cy}`).toEqual(yuv(block[0]).slice(1));
          lineBlocks++;
        }
      }
    }
    expect(lineBlocks).toBeGreaterThan(50);
  });

  it('rejects an I420 frame of the wrong length', async () => {
    await expect(draw(Buffer.alloc(12), 3, 3, [], 'i420')).rejects.toThrow('draw: frame is 12 bytes but a 3x3 i420 frame is 17');
  });
});

import { describe, expect, it } from 'vitest';
import { decodeSync, postprocess, preprocess, preprocessTimed, type PostprocessOptions, type RawDetection } from '../../daemon/native.js';

// Model input 100x100, source 200x100, stretch: src x = nx * 200, src y = ny * 100.
function options(over: Partial<PostprocessOptions> = {}): PostprocessOptions {
  return {
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
  };
}

type Box = [number, number, number, number];

/** scores_boxes input from rows of [box, per-class scores]. */
function scoresBoxes(rows: [Box, number[]][]) {
  const numClasses = rows.length ? rows[0][1].length : 3;
  return {
    layout: 'scores_boxes' as const,
    scores: Float32Array.from(rows.flatMap((r) => r[1])),
    boxes: Float32Array.from(rows.flatMap((r) => r[0])),
    numBoxes: rows.length,
    numClasses,
  };
}

function expectDetections(actual: RawDetection[], expected: RawDetection[]): void {
  expect(actual.length, JSON.stringify(actual)).toBe(expected.length);
  actual.forEach((d, i) => {
    expect(d.classId).toBe(expected[i].classId);
    expect(d.score).toBeCloseTo(expected[i].score, 5);
    for (const k of ['x1', 'y1', 'x2', 'y2'] as const) expect(d[k], `${i}.${k}`).toBeCloseTo(expected[i][k], 3);
  });
}

const det = (classId: number, score: number, x1: number, y1: number, x2: number, y2: number): RawDetection => ({ classId, score, x1, y1, x2, y2 });

describe('postprocess scores_boxes', () => {
  it('thresholds, ignores background, NMS per class, keeps overlapping boxes of different classes, sorts', async () => {
    const input = scoresBoxes([
      [[0.1, 0.1, 0.5, 0.5], [0.1, 0.9, 0.05]],
      [[0.1, 0.1, 0.5, 0.5], [0.2, 0.8, 0.6]], // identical box: class 1 suppressed, class 2 kept
      [[0.6, 0.6, 0.9, 0.9], [0.95, 0.3, 0.7]], // background 0.95 never reported
    ]);
    const out = await postprocess(input, options());
    expectDetections(out, [det(1, 0.9, 20, 10, 100, 50), det(2, 0.7, 120, 60, 180, 90), det(2, 0.6, 20, 10, 100, 50)]);
  });

  it('boxOrder yxyx reads TensorFlow SSD boxes (ymin, xmin, ymax, xmax); without a background column class 0 is reported', async () => {
    // the same two boxes as the first test, written y-first
    const input = {
      ...scoresBoxes([
        [[0.1, 0.2, 0.5, 0.6], [0.9, 0.05]],
        [[0.6, 0.1, 0.9, 0.3], [0.2, 0.7]],
      ]),
      boxOrder: 'yxyx' as const,
    };
    // x 0.2..0.6 of 200 px, y 0.1..0.5 of 100 px; x 0.1..0.3, y 0.6..0.9
    expectDetections(await postprocess(input, options({ ignoreClasses: [] })), [det(0, 0.9, 40, 10, 120, 50), det(1, 0.7, 20, 60, 60, 90)]);
    expectDetections(await postprocess({ ...input, boxOrder: 'xyxy' }, options({ ignoreClasses: [] })), [det(0, 0.9, 20, 20, 100, 60), det(1, 0.7, 120, 10, 180, 30)]);
    await expect(postprocess({ ...input, boxOrder: 'xy' as 'xyxy' }, options())).rejects.toThrow(/postprocess: input.boxOrder/);
  });

  it('nmsGroups: classes reported under one label suppress each other (a van scored as car and truck is one vehicle)', async () => {
    const input = scoresBoxes([
      [[0.1, 0.1, 0.5, 0.5], [0, 0.8, 0.3, 0.6]], // car 0.8, truck 0.6 on the same box
      [[0.6, 0.6, 0.9, 0.9], [0, 0, 0.9, 0]], // a pedestrian (class 2)
    ]);
    // classes 1 and 3 in group 1: the truck box is suppressed by the better car box
    expectDetections(await postprocess(input, options({ nmsGroups: [0, 1, 2, 1] })), [det(2, 0.9, 120, 60, 180, 90), det(1, 0.8, 20, 10, 100, 50)]);
    // each class alone (default): both kept
    expect(await postprocess(input, options())).toHaveLength(3);
  });

  it('dropGroupBoxes drops a box that holds two better boxes of its group, keeps one holding a single box', async () => {
    const input = scoresBoxes([
      [[0.1, 0.1, 0.3, 0.9], [0, 0.9]], // two people side by side
      [[0.3, 0.1, 0.5, 0.9], [0, 0.85]],
      [[0.05, 0.05, 0.55, 0.95], [0, 0.6]], // one box around both: a crowd seen as one person
      [[0.6, 0.1, 0.8, 0.9], [0, 0.8]], // a third person
      [[0.58, 0.05, 0.95, 0.95], [0, 0.55]], // a box around the third alone (one member): kept
    ]);
    const all = await postprocess(input, options({ nmsIou: 0.9 }));
    expect(all.map((d) => d.score.toFixed(2))).toEqual(['0.90', '0.85', '0.80', '0.60', '0.55']);
    const dropped = await postprocess(input, options({ nmsIou: 0.9, dropGroupBoxes: true }));
    expect(dropped.map((d) => d.score.toFixed(2))).toEqual(['0.90', '0.85', '0.80', '0.55']);
    await expect(postprocess(input, options({ dropGroupBoxes: 1 as unknown as boolean }))).rejects.toThrow('postprocess: options.dropGroupBoxes must be true or false (got 1)');
  });

  it('IoU exactly at nmsIou keeps both boxes, just above suppresses', async () => {
    // A = [0,0,.5,.25], B = [0,0,.25,.25]: IoU = 0.0625 / 0.125 = 0.5 exactly
    const input = scoresBoxes([
      [[0, 0, 0.5, 0.25], [0, 0.9]],
      [[0, 0, 0.25, 0.25], [0, 0.8]],
    ]);
    expect(await postprocess(input, options({ nmsIou: 0.5 }))).toHaveLength(2);
    const suppressed = await postprocess(input, options({ nmsIou: 0.49 }));
    expectDetections(suppressed, [det(1, 0.9, 0, 0, 100, 25)]);
  });

  it('greedy NMS: a suppressed box does not suppress others', async () => {
    // A overlaps B heavily, B overlaps C heavily, A and C barely: keeps A and C
    const input = scoresBoxes([
      [[0, 0, 0.4, 0.4], [0, 0.9]],
      [[0.1, 0, 0.5, 0.4], [0, 0.8]],
      [[0.2, 0, 0.6, 0.4], [0, 0.7]],
    ]);
    const out = await postprocess(input, options({ nmsIou: 0.5 }));
    expect(out.map((d) => d.score.toFixed(1))).toEqual(['0.9', '0.7']);
  });

  it('threshold is inclusive, compared at float32 precision', async () => {
    const input = scoresBoxes([
      [[0, 0, 0.1, 0.1], [0, 0.7]],
      [[0.2, 0.2, 0.3, 0.3], [0, 0.5]],
      [[0.4, 0.4, 0.5, 0.5], [0, 0.49999]],
      [[0.6, 0.6, 0.7, 0.7], [0, NaN]],
    ]);
    expect((await postprocess(input, options({ threshold: 0.7 }))).map((d) => d.x1)).toEqual([0]);
    const half = await postprocess(input, options({ threshold: 0.5 }));
    expect(half).toHaveLength(2);
    expect(half[1].score).toBe(0.5);
  });

  it('topK cuts after merging classes; 0 means no limit', async () => {
    const rows: [Box, number[]][] = [];
    for (let i = 0; i < 5; i++) rows.push([[i * 0.2, 0, i * 0.2 + 0.1, 0.1], [0, 0.6 + i * 0.05, i === 4 ? 0.99 : 0]]);
    const input = scoresBoxes(rows);
    const top2 = await postprocess(input, options({ topK: 2 }));
    expectDetections(top2, [det(2, 0.99, 160, 0, 180, 10), det(1, 0.8, 160, 0, 180, 10)]);
    expect(await postprocess(input, options({ topK: 0 }))).toHaveLength(6);
  });

  it('classes keeps only the listed ids', async () => {
    const input = scoresBoxes([
      [[0, 0, 0.1, 0.1], [0, 0.9, 0, 0]],
      [[0.2, 0.2, 0.3, 0.3], [0, 0, 0.8, 0]],
      [[0.4, 0.4, 0.5, 0.5], [0, 0, 0, 0.7]],
    ]);
    const out = await postprocess(input, options({ classes: [2, 3] }));
    expect(out.map((d) => d.classId)).toEqual([2, 3]);
    // a background id listed in classes is still never reported
    expect(await postprocess(scoresBoxes([[[0, 0, 0.1, 0.1], [0.9, 0, 0, 0]]]), options({ classes: [0] }))).toEqual([]);
  });

  it('empty input gives no detections', async () => {
    const out = await postprocess({ layout: 'scores_boxes', scores: new Float32Array(0), boxes: new Float32Array(0), numBoxes: 0, numClasses: 3 }, options());
    expect(out).toEqual([]);
  });

  it('drops degenerate boxes and clips boxes reaching outside the frame', async () => {
    const input = scoresBoxes([
      [[0.3, 0.3, 0.3, 0.5], [0, 0.9]], // zero width
      [[0.5, 0.5, 0.4, 0.6], [0, 0.9]], // x2 < x1
      [[1.1, 0.2, 1.3, 0.4], [0, 0.9]], // entirely right of the frame: zero width once clipped
      [[-0.1, -0.2, 1.2, 0.5], [0, 0.8]], // clipped to the frame
    ]);
    const out = await postprocess(input, options());
    expectDetections(out, [det(1, 0.8, 0, 0, 200, 50)]);
  });

  it('maps letterboxed boxes back to the source frame', async () => {
    // 200x100 source into a 100x100 letterbox: scale 0.5, content rows 25..75
    const transform = await preprocess(Buffer.alloc(200 * 100 * 3), 200, 100, { width: 100, height: 100, mean: [0, 0, 0], std: [1, 1, 1], color: 'rgb', resize: 'letterbox' }, new Float32Array(3 * 100 * 100));
    expect(transform).toEqual({ scaleX: 0.5, scaleY: 0.5, padX: 0, padY: 25 });
    const input = scoresBoxes([
      [[0.25, 0.25, 0.75, 0.75], [0, 0.9]], // -> src (50, 0) - (150, 100)
      [[0.5, 0.3, 0.75, 0.5], [0, 0.8]], // -> src (100, 10) - (150, 50)
      [[0.1, 0, 0.2, 0.2], [0, 0.7]], // inside the padding only: dropped
    ]);
    const out = await postprocess(input, options({ transform }));
    expectDetections(out, [det(1, 0.9, 50, 0, 150, 100), det(1, 0.8, 100, 10, 150, 50)]);
  });
});

describe('postprocess nms7', () => {
  const rows = (r: number[][]) => Float32Array.from(r.flat());

  it('applies threshold, classes, background and padding rows; no NMS of its own', async () => {
    const detections = rows([
      [0, 1, 0.9, 0.1, 0.1, 0.5, 0.5],
      [0, 1, 0.85, 0.1, 0.1, 0.5, 0.5], // identical box: the model already did NMS, kept
      [0, 2, 0.3, 0.1, 0.1, 0.2, 0.2], // below threshold
      [-1, 0, 0, 0, 0, 0, 0], // padding
      [0, 0, 0.95, 0, 0, 1, 1], // background
      [0, 3, 0.6, 0.5, 0.5, 1.2, 1], // clipped
    ]);
    const out = await postprocess({ layout: 'nms7', detections, count: 6 }, options());
    expectDetections(out, [det(1, 0.9, 20, 10, 100, 50), det(1, 0.85, 20, 10, 100, 50), det(3, 0.6, 100, 50, 200, 100)]);
    const only3 = await postprocess({ layout: 'nms7', detections, count: 6 }, options({ classes: [3] }));
    expect(only3.map((d) => d.classId)).toEqual([3]);
  });

  it('keepCount limits the rows read; topK cuts', async () => {
    const detections = rows([
      [0, 1, 0.6, 0, 0, 0.1, 0.1],
      [0, 2, 0.7, 0, 0, 0.1, 0.1],
      [0, 3, 0.99, 0, 0, 0.1, 0.1],
    ]);
    const kept = await postprocess({ layout: 'nms7', detections, count: 3, keepCount: 2 }, options());
    expect(kept.map((d) => d.classId)).toEqual([2, 1]);
    const top1 = await postprocess({ layout: 'nms7', detections, count: 3 }, options({ topK: 1 }));
    expect(top1.map((d) => d.classId)).toEqual([3]);
    expect(await postprocess({ layout: 'nms7', detections, count: 3, keepCount: 0 }, options())).toEqual([]);
  });
});

describe('postprocess efficient_nms', () => {
  it('reads numDets rows, pixel boxes, int32 classes', async () => {
    const out = await postprocess(
      {
        layout: 'efficient_nms',
        numDets: 2,
        boxes: Float32Array.from([10, 20, 30, 40, 0, 0, 50, 50, 0, 0, 100, 100]),
        scores: Float32Array.from([0.6, 0.8, 0.99]), // the third row is past numDets
        classes: Int32Array.from([1, 2, 1]),
        normalized: false,
      },
      options(),
    );
    expectDetections(out, [det(2, 0.8, 0, 0, 100, 50), det(1, 0.6, 20, 20, 60, 40)]);
  });

  it('normalized boxes with float classes, filters like the others', async () => {
    const input = {
      layout: 'efficient_nms' as const,
      numDets: 3,
      boxes: Float32Array.from([0.1, 0.1, 0.5, 0.5, 0.1, 0.1, 0.5, 0.5, 0.2, 0.2, 0.4, 0.4]),
      scores: Float32Array.from([0.9, 0.4, 0.7]),
      classes: Float32Array.from([1, 2, 0]),
      normalized: true,
    };
    expectDetections(await postprocess(input, options()), [det(1, 0.9, 20, 10, 100, 50)]);
    expect(await postprocess({ ...input, numDets: 0 }, options())).toEqual([]);
  });
});

describe('postprocess bad inputs reject with a clear message', () => {
  it('tensor lengths that do not match the counts', async () => {
    await expect(
      postprocess({ layout: 'scores_boxes', scores: new Float32Array(5), boxes: new Float32Array(8), numBoxes: 2, numClasses: 3 }, options()),
    ).rejects.toThrow('postprocess: input.scores has 5 elements but numBoxes*numClasses (2*3) needs 6');
    await expect(
      postprocess({ layout: 'scores_boxes', scores: new Float32Array(6), boxes: new Float32Array(7), numBoxes: 2, numClasses: 3 }, options()),
    ).rejects.toThrow('postprocess: input.boxes has 7 elements but numBoxes*4 (2*4) needs 8');
    await expect(postprocess({ layout: 'nms7', detections: new Float32Array(13), count: 2 }, options())).rejects.toThrow(
      'postprocess: input.detections has 13 elements but count*7 (2*7) needs 14',
    );
    await expect(
      postprocess({ layout: 'efficient_nms', numDets: 3, boxes: new Float32Array(8), scores: new Float32Array(2), classes: new Int32Array(2), normalized: true }, options()),
    ).rejects.toThrow('postprocess: input.numDets must be from 0 to 2 (got 3)');
    await expect(
      postprocess({ layout: 'efficient_nms', numDets: 1, boxes: new Float32Array(8), scores: new Float32Array(3), classes: new Int32Array(2), normalized: true }, options()),
    ).rejects.toThrow('postprocess: input.scores has 3 elements but one score per box (boxes.length/4) needs 2');
  });

  it('bad layout and options', async () => {
    const input = scoresBoxes([[[0, 0, 1, 1], [0, 1]]]);
    await expect(postprocess({ ...input, layout: 'yolo' } as unknown as typeof input, options())).rejects.toThrow(
      'postprocess: input.layout must be one of "scores_boxes", "nms7", "efficient_nms" (got "yolo")',
    );
    await expect(postprocess(input, options({ topK: -1 }))).rejects.toThrow('postprocess: options.topK must be an integer from 0 to 1073741824 (got -1)');
    await expect(postprocess(input, options({ nmsIou: 1.5 }))).rejects.toThrow('postprocess: options.nmsIou must be from 0 to 1 (got 1.5)');
    await expect(postprocess(input, options({ transform: { scaleX: 0, scaleY: 1, padX: 0, padY: 0 } }))).rejects.toThrow(/scaleX and scaleY must be > 0/);
    await expect(postprocess(input, options({ classes: ['car'] as unknown as number[] }))).rejects.toThrow('postprocess: options.classes[0] must be an integer');
    await expect(postprocess(input, { ...options(), threshold: undefined } as unknown as PostprocessOptions)).rejects.toThrow(
      'postprocess: options.threshold must be a number (got undefined)',
    );
    await expect(postprocess({ ...input, scores: [0, 1] } as unknown as typeof input, options())).rejects.toThrow(
      'postprocess: input.scores must be a Float32Array (got an array)',
    );
  });
});

describe('decodeSync and preprocessTimed (the calls the ONNX Runtime thread makes)', () => {
  it('decodeSync decodes every layout from the output tensors by role exactly as postprocess does', async () => {
    const rng = (() => {
      let s = 7;
      return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    })();
    // scores_boxes with random scores and boxes, in both box orders, NMS groups and dropped group boxes
    const n = 300;
    const c = 6;
    const scores = Float32Array.from({ length: n * c }, () => rng());
    const boxes = Float32Array.from({ length: n * 4 }, (_, i) => (i % 4 < 2 ? 0.5 * rng() : 0.5 + 0.5 * rng()));
    for (const boxOrder of ['xyxy', 'yxyx'] as const) {
      const o = options({ threshold: 0.6, topK: 20, nmsGroups: [0, 1, 1, 2, 3, 3], dropGroupBoxes: true });
      const viaPost = await postprocess({ layout: 'scores_boxes', scores, boxes, numBoxes: n, numClasses: c, boxOrder }, o);
      // the outputs in another order than the roles: the layout names them by index
      const viaSync = decodeSync([boxes, scores], { layout: 'scores_boxes', scores: 1, boxes: 0, numBoxes: n, numClasses: c, boxOrder }, o);
      expect(viaPost.length).toBeGreaterThan(5);
      expect(viaSync).toEqual(viaPost);
    }
    // nms7 with an int32 keep count, efficient_nms with int32 and with BigInt64 counts
    const rows = Float32Array.from([0, 1, 0.9, 0.1, 0.1, 0.4, 0.4, 0, 2, 0.8, 0.5, 0.5, 0.9, 0.9, 0, 1, 0.7, 0.2, 0.2, 0.3, 0.3]);
    const nms7 = await postprocess({ layout: 'nms7', detections: rows, count: 3, keepCount: 2 }, options());
    expect(decodeSync([Int32Array.from([2]), rows], { layout: 'nms7', detections: 1, keepCount: 0, count: 3 }, options())).toEqual(nms7);
    expect(nms7).toHaveLength(2);
    const eb = Float32Array.from([0.1, 0.1, 0.4, 0.4, 0.5, 0.5, 0.9, 0.9]);
    const es = Float32Array.from([0.9, 0.8]);
    const ec = Int32Array.from([1, 2]);
    const eff = await postprocess({ layout: 'efficient_nms', numDets: 2, boxes: eb, scores: es, classes: ec, normalized: true }, options());
    const layout = { layout: 'efficient_nms' as const, numDets: 0, boxes: 1, scores: 2, classes: 3 };
    expect(decodeSync([Int32Array.from([2]), eb, es, ec], layout, options())).toEqual(eff);
    expect(decodeSync([BigInt64Array.from([2n]), eb, es, ec], layout, options())).toEqual(eff);
    expect(eff).toHaveLength(2);
  });

  it('decodeSync names a layout that does not fit the outputs', () => {
    const scores = new Float32Array(10 * 3);
    expect(() => decodeSync([scores], { layout: 'scores_boxes', scores: 0, boxes: 1, numBoxes: 10, numClasses: 3, boxOrder: 'xyxy' }, options())).toThrow(
      'decodeSync: the boxes output is missing (index 1 of 1)',
    );
    expect(() => decodeSync([scores, new Float32Array(39)], { layout: 'scores_boxes', scores: 0, boxes: 1, numBoxes: 10, numClasses: 3, boxOrder: 'xyxy' }, options())).toThrow(
      'decodeSync: the boxes output has 39 elements, expected 40',
    );
    expect(() => decodeSync([new Uint8Array(3) as unknown as Float32Array], { layout: 'nms7', detections: 0, keepCount: null, count: 0 }, options())).toThrow(
      'decodeSync: outputs[0] must be a Float32Array or Int32Array or BigInt64Array (got a Uint8Array)',
    );
  });

  it('preprocessTimed writes the same tensor as preprocess and says how long the work took', async () => {
    const frame = Buffer.from(Array.from({ length: 64 * 48 * 3 }, (_, i) => (i * 7) % 256));
    const spec = { width: 32, height: 32, mean: [0.5, 0.5, 0.5] as [number, number, number], std: [0.5, 0.5, 0.5] as [number, number, number], color: 'rgb' as const, resize: 'letterbox' as const };
    const a = new Float32Array(3 * 32 * 32);
    const b = new Float32Array(3 * 32 * 32);
    const t = await preprocess(frame, 64, 48, spec, a);
    const timed = await preprocessTimed(frame, 64, 48, spec, b);
    expect(timed.transform).toEqual(t);
    expect(b).toEqual(a);
    expect(timed.ms).toBeGreaterThanOrEqual(0);
    expect(timed.ms).toBeLessThan(5000);
  });
});

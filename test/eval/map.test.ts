import { describe, expect, it } from 'vitest';
import { averagePrecision, computeMap, type DetectionImage, type GroundTruthImage } from '../../daemon/eval/map.js';
import { fractionInside, iou as iouOf } from '../../daemon/core/box.js';

const box = (x1: number, y1: number, x2: number, y2: number) => ({ x1, y1, x2, y2 });
const A = box(0, 0, 10, 10);
const B = box(20, 20, 40, 40);
const C = box(50, 0, 60, 10);
const FAR = box(100, 100, 110, 110);

describe('box geometry', () => {
  it('IoU of identical, disjoint and half-overlapping boxes', () => {
    expect(iouOf(A, A)).toBe(1);
    expect(iouOf(A, FAR)).toBe(0);
    // 10x10 and the same shifted by 5: intersection 50, union 150
    expect(iouOf(A, box(5, 0, 15, 10))).toBeCloseTo(1 / 3, 12);
    expect(fractionInside(box(5, 0, 15, 10), A)).toBeCloseTo(0.5, 12);
  });
});

describe('averagePrecision (VOC all-point)', () => {
  it('uses the monotone precision envelope at every recall change', () => {
    // TP FP TP FP TP with 3 GT: 1/3*1 + 1/3*(2/3) + 1/3*(3/5) = 34/45
    const precision = [1, 1 / 2, 2 / 3, 2 / 4, 3 / 5];
    const recall = [1 / 3, 1 / 3, 2 / 3, 2 / 3, 1];
    expect(averagePrecision(recall, precision)).toBeCloseTo(34 / 45, 12);
  });
  it('takes the envelope when precision rises again after a recall change', () => {
    // TP FP FP TP TP with 3 GT: precision 1, 1/2, 1/3, 1/2, 3/5; recall 1/3, 1/3, 1/3, 2/3, 1.
    // Envelope at recall 2/3 is 3/5 (not the raw 1/2): 1/3*1 + 1/3*3/5 + 1/3*3/5 = 11/15
    const precision = [1, 1 / 2, 1 / 3, 1 / 2, 3 / 5];
    const recall = [1 / 3, 1 / 3, 1 / 3, 2 / 3, 1];
    expect(averagePrecision(recall, precision)).toBeCloseTo(11 / 15, 12);
  });
  it('is 0 without detections', () => {
    expect(averagePrecision([], [])).toBe(0);
  });
});

describe('computeMap', () => {
  const gt: GroundTruthImage[] = [
    {
      id: 'img1',
      boxes: [
        { label: 'car', box: A },
        { label: 'person', box: B },
      ],
    },
    { id: 'img2', boxes: [{ label: 'car', box: C }] },
  ];

  it('perfect detections give 1.0', () => {
    const dets: DetectionImage[] = [
      {
        id: 'img1',
        detections: [
          { label: 'car', score: 0.9, box: A },
          { label: 'person', score: 0.8, box: B },
        ],
      },
      { id: 'img2', detections: [{ label: 'car', score: 0.7, box: C }] },
    ];
    const r = computeMap(gt, dets, ['car', 'person']);
    expect(r.mAP).toBe(1);
    expect(r.ap).toEqual({ car: 1, person: 1 });
    expect(r.classes.car).toMatchObject({ gt: 2, tp: 2, fp: 0 });
  });

  it('no detections give 0 (classes with ground truth still count)', () => {
    const r = computeMap(gt, [], ['car', 'person']);
    expect(r.mAP).toBe(0);
    expect(r.ap).toEqual({ car: 0, person: 0 });
  });

  it('an empty dataset has no AP and no mAP', () => {
    const r = computeMap([], [], ['car']);
    expect(r.mAP).toBeNull();
    expect(r.ap).toEqual({ car: null });
  });

  it('a second detection on a matched box is a false positive', () => {
    // img1: car A detected twice (0.9, 0.8); img2: car C detected at 0.7.
    // order TP FP TP over 2 GT: precision 1, 1/2, 2/3; recall 1/2, 1/2, 1 -> AP = 1/2 + 1/2*2/3 = 5/6
    const dets: DetectionImage[] = [
      {
        id: 'img1',
        detections: [
          { label: 'car', score: 0.9, box: A },
          { label: 'car', score: 0.8, box: box(1, 1, 10, 10) },
        ],
      },
      { id: 'img2', detections: [{ label: 'car', score: 0.7, box: C }] },
    ];
    const r = computeMap(gt, dets, ['car']);
    expect(r.ap.car).toBeCloseTo(5 / 6, 12);
    expect(r.classes.car).toMatchObject({ gt: 2, tp: 2, fp: 1, ignored: 0 });
  });

  it('one GT with two detections: the lower-scored one is the FP', () => {
    const one: GroundTruthImage[] = [{ id: 'x', boxes: [{ label: 'car', box: A }] }];
    const dets: DetectionImage[] = [
      {
        id: 'x',
        detections: [
          { label: 'car', score: 0.5, box: A },
          { label: 'car', score: 0.6, box: box(0, 0, 10, 12) },
        ],
      },
    ];
    const r = computeMap(one, dets, ['car']);
    expect(r.classes.car).toMatchObject({ tp: 1, fp: 1 });
    expect(r.classes.car.precision).toEqual([1, 0.5]);
    expect(r.ap.car).toBe(1);
  });

  it('a known PR curve across images sorted by score gives the hand-computed AP', () => {
    // 3 cars; detections by score: TP(i1) FP(i2) TP(i2) FP(i1) TP(i3) -> AP 34/45 = 0.7556
    const g: GroundTruthImage[] = [
      { id: 'i1', boxes: [{ label: 'car', box: A }] },
      { id: 'i2', boxes: [{ label: 'car', box: B }] },
      { id: 'i3', boxes: [{ label: 'car', box: C }] },
    ];
    const dets: DetectionImage[] = [
      { id: 'i3', detections: [{ label: 'car', score: 0.5, box: C }] },
      {
        id: 'i1',
        detections: [
          { label: 'car', score: 0.95, box: A },
          { label: 'car', score: 0.6, box: FAR },
        ],
      },
      {
        id: 'i2',
        detections: [
          { label: 'car', score: 0.9, box: FAR },
          { label: 'car', score: 0.8, box: B },
        ],
      },
    ];
    const r = computeMap(g, dets, ['car']);
    expect(r.classes.car.precision).toEqual([1, 1 / 2, 2 / 3, 2 / 4, 3 / 5]);
    expect(r.ap.car).toBeCloseTo(34 / 45, 12);
    expect(r.mAP).toBeCloseTo(34 / 45, 12);
  });

  it('detections below the IoU threshold are false positives; the threshold is a parameter', () => {
    const one: GroundTruthImage[] = [{ id: 'x', boxes: [{ label: 'car', box: A }] }];
    const dets: DetectionImage[] = [{ id: 'x', detections: [{ label: 'car', score: 0.9, box: box(5, 0, 15, 10) }] }];
    expect(computeMap(one, dets, ['car']).ap.car).toBe(0);
    expect(computeMap(one, dets, ['car'], 0.3).ap.car).toBe(1);
  });

  it('a detection goes to the unmatched box with the highest IoU', () => {
    // two overlapping cars; the first detection fits the second box better
    const g: GroundTruthImage[] = [
      {
        id: 'x',
        boxes: [
          { label: 'car', box: box(0, 0, 10, 10) },
          { label: 'car', box: box(2, 0, 12, 10) },
        ],
      },
    ];
    const dets: DetectionImage[] = [
      {
        id: 'x',
        detections: [
          { label: 'car', score: 0.9, box: box(2, 0, 12, 10) },
          { label: 'car', score: 0.8, box: box(0, 0, 10, 10) },
        ],
      },
    ];
    expect(computeMap(g, dets, ['car']).classes.car).toMatchObject({ tp: 2, fp: 0 });
  });

  it('difficult boxes: matching them is neither TP nor FP, missing them is no FN', () => {
    const g: GroundTruthImage[] = [
      {
        id: 'x',
        boxes: [
          { label: 'car', box: A },
          { label: 'car', box: B, difficult: true },
          { label: 'car', box: C, difficult: true },
        ],
      },
    ];
    // the detection on difficult B scores highest and would be an FP without the rule; C is never found
    const dets: DetectionImage[] = [
      {
        id: 'x',
        detections: [
          { label: 'car', score: 0.9, box: B },
          { label: 'car', score: 0.8, box: B },
          { label: 'car', score: 0.5, box: A },
        ],
      },
    ];
    const r = computeMap(g, dets, ['car']);
    expect(r.ap.car).toBe(1);
    expect(r.classes.car).toMatchObject({ gt: 1, tp: 1, fp: 0, ignored: 2 });
    // the same detections with B as an ordinary box: B found, C missed -> recall 2/3
    const plain = computeMap(
      [
        {
          id: 'x',
          boxes: [
            { label: 'car', box: A },
            { label: 'car', box: B },
            { label: 'car', box: C },
          ],
        },
      ],
      dets,
      ['car'],
    );
    expect(plain.classes.car).toMatchObject({ gt: 3, tp: 2, fp: 1 });
  });

  it('a class whose only boxes are difficult has no AP', () => {
    const g: GroundTruthImage[] = [
      {
        id: 'x',
        boxes: [
          { label: 'car', box: A, difficult: true },
          { label: 'person', box: B },
        ],
      },
    ];
    const r = computeMap(g, [{ id: 'x', detections: [{ label: 'person', score: 1, box: B }] }], ['car', 'person']);
    expect(r.ap).toEqual({ car: null, person: 1 });
    expect(r.mAP).toBe(1);
  });

  it('DontCare regions ignore detections more than half inside them', () => {
    const region = box(100, 100, 200, 200);
    const g: GroundTruthImage[] = [{ id: 'x', boxes: [{ label: 'car', box: A }], ignore: [region] }];
    const inside = { label: 'car', score: 0.9, box: box(150, 150, 170, 170) };
    const r = computeMap(g, [{ id: 'x', detections: [inside, { label: 'car', score: 0.5, box: A }] }], ['car']);
    expect(r.ap.car).toBe(1);
    expect(r.classes.car).toMatchObject({ tp: 1, fp: 0, ignored: 1 });
    // 40% inside the region: a false positive ranked first -> precision 0 then 1/2 at recall 1 -> AP 1/2
    const mostlyOut = { label: 'car', score: 0.9, box: box(60, 100, 110, 120) };
    const r2 = computeMap(g, [{ id: 'x', detections: [mostlyOut, { label: 'car', score: 0.5, box: A }] }], ['car']);
    expect(r2.ap.car).toBeCloseTo(0.5, 12);
    expect(r2.classes.car).toMatchObject({ tp: 1, fp: 1, ignored: 0 });
  });

  it('a class with no ground truth is left out of the mean (ap null)', () => {
    const g: GroundTruthImage[] = [{ id: 'x', boxes: [{ label: 'car', box: A }] }];
    const dets: DetectionImage[] = [
      {
        id: 'x',
        detections: [
          { label: 'car', score: 0.9, box: A },
          { label: 'bicycle', score: 0.9, box: B },
        ],
      },
    ];
    const r = computeMap(g, dets, ['car', 'bicycle']);
    expect(r.ap).toEqual({ car: 1, bicycle: null });
    expect(r.classes.bicycle).toMatchObject({ gt: 0, fp: 1 });
    expect(r.mAP).toBe(1);
  });

  it('averages the classes with ground truth', () => {
    const dets: DetectionImage[] = [{ id: 'img1', detections: [{ label: 'person', score: 0.8, box: B }] }];
    const r = computeMap(gt, dets, ['car', 'person']);
    expect(r.ap).toEqual({ car: 0, person: 1 });
    expect(r.mAP).toBe(0.5);
  });

  it('a detection in an image without ground truth entry is a false positive; wrong labels do not match', () => {
    const dets: DetectionImage[] = [
      { id: 'unknown', detections: [{ label: 'car', score: 0.99, box: A }] },
      {
        id: 'img1',
        detections: [
          { label: 'person', score: 0.9, box: A },
          { label: 'car', score: 0.5, box: A },
        ],
      },
      { id: 'img2', detections: [{ label: 'car', score: 0.4, box: C }] },
    ];
    const r = computeMap(gt, dets, ['car', 'person']);
    // car: FP TP TP over 2 GT -> precision 0, 1/2, 2/3 at recall 0, 1/2, 1 -> AP = 1/2*2/3 + 1/2*2/3 = 2/3
    expect(r.ap.car).toBeCloseTo(2 / 3, 12);
    expect(r.classes.person).toMatchObject({ tp: 0, fp: 1 });
  });
});

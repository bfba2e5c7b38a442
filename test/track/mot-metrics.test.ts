import { describe, expect, it } from 'vitest';
import { dropIgnored, motMetrics, readMotChallenge, type MotBox } from '../../daemon/track/mot-metrics.js';

/** a 40×80 box at (x, y) of object or track `id` in `frame` */
const at = (frame: number, id: number, x: number, y = 0): MotBox => ({ frame, id, box: { x1: x, y1: y, x2: x + 40, y2: y + 80 } });

describe('motMetrics', () => {
  it('a tiny case worked out by hand: one FP, one FN, one id switch', () => {
    // Ground truth, frames 1–4: object 1 moves right 10 px a frame, object 2 stands at x = 200.
    //   GT = 2 objects × 4 frames = 8 boxes.
    // Hypotheses:
    //   track 10 follows object 1 in all 4 frames, 5 px off (IoU 35·80 / (2·3200 − 35·80) = 0.78)
    //   track 20 follows object 2 in frames 1–2; in frame 3 nothing covers object 2;
    //   track 30 covers object 2 in frame 4 (object 2 was last matched to 20: one id switch);
    //   track 40 is a false positive far away in frame 2.
    //   hypothesis boxes = 4 + 2 + 1 + 1 = 8.
    // CLEAR-MOT: matches 4 + 2 + 1 = 7, FN = 1 (object 2, frame 3), FP = 1 (track 40), IDSW = 1
    //   MOTA = 1 − (1 + 1 + 1) / 8 = 5/8
    // IDF1: frames in which the pairs correspond: (1,10) 4, (2,20) 2, (2,30) 1. The best one-to-one
    //   id matching is 1↔10, 2↔20: IDTP = 6, IDFN = 8 − 6 = 2, IDFP = 8 − 6 = 2
    //   IDF1 = 2·6 / (2·6 + 2 + 2) = 12/16 = 3/4; IDP = IDR = 6/8
    // Tracks per object: object 1 was matched to 10 only, object 2 to 20 and 30: 3 pairs
    const gt: MotBox[] = [];
    const hyp: MotBox[] = [];
    for (let f = 1; f <= 4; f++) {
      gt.push(at(f, 1, 10 * f), at(f, 2, 200));
      hyp.push(at(f, 10, 10 * f + 5));
    }
    hyp.push(at(1, 20, 200), at(2, 20, 202), at(4, 30, 198), at(2, 40, 600, 400));
    const m = motMetrics(gt, hyp);
    expect(m).toMatchObject({ gt: 8, hyp: 8, matches: 7, fp: 1, fn: 1, idsw: 1, idtp: 6, idfp: 2, idfn: 2, object_tracks: 3 });
    expect(m.mota).toBe(5 / 8);
    expect(m.idf1).toBe(3 / 4);
    expect(m.idp).toBe(6 / 8);
    expect(m.idr).toBe(6 / 8);
  });

  it('two tracks that swap objects halfway: two switches, IDF1 1/2', () => {
    // objects 1 and 2 over frames 1–6; track 10 is on object 1 in frames 1–3 and on object 2 in
    // 4–6, track 20 the other way round. GT = 12, hypotheses = 12, every box matched.
    //   IDSW = 2 (both objects change track at frame 4), MOTA = 1 − 2/12 = 5/6
    //   pairs: (1,10) 3, (1,20) 3, (2,20) 3, (2,10) 3: any one-to-one matching has IDTP = 6
    //   IDF1 = 2·6 / (12 + 12) = 1/2; each object was matched to both tracks: 4 pairs
    const gt: MotBox[] = [];
    const hyp: MotBox[] = [];
    for (let f = 1; f <= 6; f++) {
      gt.push(at(f, 1, 0), at(f, 2, 300));
      hyp.push(at(f, f <= 3 ? 10 : 20, 2), at(f, f <= 3 ? 20 : 10, 298));
    }
    const m = motMetrics(gt, hyp);
    expect(m).toMatchObject({ gt: 12, matches: 12, fp: 0, fn: 0, idsw: 2, idtp: 6, object_tracks: 4 });
    expect(m.mota).toBe(5 / 6);
    expect(m.idf1).toBe(1 / 2);
  });

  it('one hypothesis id on two objects in turn: MOTA 1, but IDF1 counts it for one object only', () => {
    // object 1 in frames 1–3, then object 2 (elsewhere) in frames 4–6, both covered by track 10.
    // No match ever changes track for an object: IDSW = 0, MOTA = 1. But the id matching is one to
    // one: 10 goes with 1 or with 2, IDTP = 3, IDF1 = 2·3 / (6 + 6) = 1/2. Pairs (1,10), (2,10): 2
    const gt = [1, 2, 3].map((f) => at(f, 1, 0)).concat([4, 5, 6].map((f) => at(f, 2, 300)));
    const hyp = gt.map((b) => ({ ...b, id: 10 }));
    const m = motMetrics(gt, hyp);
    expect(m).toMatchObject({ idsw: 0, mota: 1, idtp: 3, idfp: 3, idfn: 3, object_tracks: 2 });
    expect(m.idf1).toBe(1 / 2);
  });

  it("keeps the previous frame's correspondence even when another track overlaps better", () => {
    // frame 1: object 1 and track 10 at IoU (40 − 10)/(40 + 10) = 0.6; frame 2: track 10 again at
    // 0.6 and track 20 at (40 − 2)/(40 + 2) = 0.90. The Hungarian alone would take 20 (a switch);
    // CLEAR-MOT keeps 10: no switch, 20 is a false positive. MOTA = 1 − 1/2 = 1/2.
    const gt = [at(1, 1, 100), at(2, 1, 100)];
    const hyp = [at(1, 10, 110), at(2, 10, 110), at(2, 20, 102)];
    const m = motMetrics(gt, hyp);
    expect(m).toMatchObject({ matches: 2, fp: 1, fn: 0, idsw: 0 });
    expect(m.mota).toBe(1 / 2);
  });

  it('IoU below 0.5 is no match; a perfect tracker scores 1', () => {
    // (40 − 14)/(40 + 14) = 0.48: a miss and a false positive
    const m = motMetrics([at(1, 1, 0)], [at(1, 5, 14)]);
    expect(m).toMatchObject({ matches: 0, fp: 1, fn: 1, idtp: 0 });
    expect(m.mota).toBe(-1);
    expect(m.idf1).toBe(0);
    const gt = [1, 2, 3].flatMap((f) => [at(f, 1, 10 * f), at(f, 2, 500)]);
    const perfect = motMetrics(
      gt,
      gt.map((b) => ({ ...b, id: b.id + 100 })),
    );
    expect([perfect.mota, perfect.idf1, perfect.idsw]).toEqual([1, 1, 0]);
  });

  it('MOTP is the mean IoU of the matched pairs', () => {
    // 40×80 boxes: 5 px off -> IoU 35·80 / (2·3200 − 35·80) = 2800/3600 = 7/9; 10 px off ->
    // 30·80 / (6400 − 2400) = 2400/4000 = 3/5; a perfect box 1. MOTP = (7/9 + 3/5 + 1) / 3
    const m = motMetrics([at(1, 1, 0), at(2, 1, 0), at(3, 1, 0)], [at(1, 9, 5), at(2, 9, 10), at(3, 9, 0)]);
    expect(m.matches).toBe(3);
    expect(m.iou_sum).toBeCloseTo(7 / 9 + 3 / 5 + 1, 12);
    expect(m.motp).toBeCloseTo((7 / 9 + 3 / 5 + 1) / 3, 12);
    expect(Number.isNaN(motMetrics([at(1, 1, 0)], []).motp)).toBe(true);
  });

  it('frames with only hypotheses count their false positives; no ground truth is NaN', () => {
    const m = motMetrics([at(1, 1, 0)], [at(1, 7, 0), at(2, 7, 0)]);
    expect(m).toMatchObject({ matches: 1, fp: 1, fn: 0 });
    expect(Number.isNaN(motMetrics([], []).mota)).toBe(true);
  });
});

describe('dropIgnored', () => {
  it('leaves out hypotheses on ignored ground truth, and small unmatched ones with minHeight', () => {
    // frame 1: considered object 1 at x = 0, ignored object 2 at x = 300 (conf 0: hidden, tiny).
    //   track 10 on object 1 (kept), track 20 on object 2 (IoU 7/9: left out), track 30 far from
    //   both (kept: a false positive).
    // frame 2: only the ignored object 2; track 20 on it at IoU 3/5 (left out), track 40 at 14 px
    //   off (IoU 26·80 / (6400 − 2080) = 0.48 < 0.5: no match, kept).
    // frame 3: a 10 px tall box matching nothing: kept without minHeight, left out with 25.
    const considered = [at(1, 1, 0)];
    const ignored = [at(1, 2, 300), at(2, 2, 300)];
    const small: MotBox = { frame: 3, id: 50, box: { x1: 0, y1: 0, x2: 5, y2: 10 } };
    const hyp = [at(1, 10, 0), at(1, 20, 305), at(1, 30, 600), at(2, 20, 310), at(2, 40, 314), small];
    const ids = (boxes: MotBox[]) => boxes.map((b) => `${b.frame}:${b.id}`);
    expect(ids(dropIgnored(hyp, considered, ignored))).toEqual(['1:10', '1:30', '2:40', '3:50']);
    expect(ids(dropIgnored(hyp, considered, ignored, 0.5, 25))).toEqual(['1:10', '1:30', '2:40']);
    // a small box that does match a considered object stays
    const tiny: MotBox = { frame: 1, id: 1, box: { x1: 0, y1: 0, x2: 5, y2: 10 } };
    expect(ids(dropIgnored([{ ...tiny, id: 60 }], [tiny], [], 0.5, 25))).toEqual(['1:60']);
    // then motMetrics on what is left: frame 1 one match (10) and one FP (30), frame 2 one FP (40)
    const m = motMetrics(considered, dropIgnored(hyp, considered, ignored, 0.5, 25));
    expect(m).toMatchObject({ gt: 1, matches: 1, fp: 2, fn: 0, idsw: 0 });
    expect(m.mota).toBe(1 - 2 / 1);
  });
});

describe('readMotChallenge', () => {
  const text = [
    '1,1,912,484,97,109,0,7,1',
    '1,2,1338,418,167,379,1,1,0.86',
    '',
    '2,2,1340,418,167,379,1,1,0.9',
    '2,3,100,200,30,60,1,2,1.0',
    '3,4,5,6,7,8',
  ].join('\n');

  it('reads frame,id,x,y,w,h,conf,class,visibility; conf 0 lines are ignored ground truth', () => {
    const boxes = readMotChallenge(text);
    expect(boxes).toHaveLength(4);
    expect(boxes[0]).toEqual({ frame: 1, id: 2, box: { x1: 1338, y1: 418, x2: 1505, y2: 797 }, conf: 1, class: 1, visibility: 0.86 });
    expect(boxes[3]).toEqual({ frame: 3, id: 4, box: { x1: 5, y1: 6, x2: 12, y2: 14 }, conf: 1, class: -1, visibility: 1 });
    expect(readMotChallenge(text, { keepIgnored: true })).toHaveLength(5);
  });

  it('filters classes and rejects malformed lines', () => {
    expect(readMotChallenge(text, { classes: [1] }).map((b) => [b.frame, b.id])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(readMotChallenge('1,1,2,3,4,5,,\r\n')).toHaveLength(1); // empty optional columns: defaults, CRLF
    expect(() => readMotChallenge('1,1,2,3\n')).toThrow(/line 1/);
    expect(() => readMotChallenge('1,1,2,3,4,5\n1,x,2,3,4,5\n')).toThrow(/line 2/);
  });

  it('feeds motMetrics', () => {
    const gt = readMotChallenge('1,1,0,0,40,80,1,1,1\n2,1,10,0,40,80,1,1,1\n');
    const hyp = readMotChallenge('1,9,0,0,40,80,0.9,-1,-1\n2,9,10,0,40,80,0.9,-1,-1\n');
    expect(motMetrics(gt, hyp)).toMatchObject({ mota: 1, idf1: 1, matches: 2 });
  });
});

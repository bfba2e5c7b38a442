/**
 * Multi-object tracking metrics as the MOTChallenge reports them: CLEAR-MOT's MOTA (Bernardin &
 * Stiefelhagen, 2008) and the identity metrics IDF1/IDP/IDR (Ristani et al., 2016), from ground
 * truth and tracker output per frame. A ground-truth box and a hypothesis box may only correspond
 * at IoU >= 0.5.
 */
import { assign } from './hungarian.js';
import { iou, type Box } from '../core/box.js';

/** One box of one object (ground truth) or track (hypothesis) in one frame. */
export interface MotBox {
  frame: number;
  id: number;
  box: Box;
}

export interface MotMetrics {
  /** ground-truth boxes */
  gt: number;
  /** hypothesis boxes */
  hyp: number;
  /** ground-truth boxes matched to a hypothesis */
  matches: number;
  /** hypotheses matched to no ground truth */
  fp: number;
  /** ground truth matched to no hypothesis */
  fn: number;
  /** matches whose hypothesis id is not the one this object was last matched to */
  idsw: number;
  /**
   * distinct (object, hypothesis) pairs among the matches: each object counted once per track
   * that covered it (divided by the objects, the tracks per object: 1 when none was broken up)
   */
  object_tracks: number;
  /** 1 − (fn + fp + idsw) / gt; NaN without ground truth */
  mota: number;
  /** the IoU of the matched pairs, summed (for MOTP, and to add up sequences or classes) */
  iou_sum: number;
  /** mean IoU of the matched pairs (MOTChallenge's MOTP, higher is better); NaN without matches */
  motp: number;
  /** boxes of the globally matched id pairs that correspond in their frame */
  idtp: number;
  idfp: number;
  idfn: number;
  /** 2·idtp / (2·idtp + idfp + idfn); NaN when there are no boxes at all */
  idf1: number;
  /** idtp / (idtp + idfp), idtp / (idtp + idfn) */
  idp: number;
  idr: number;
}

function byFrame(boxes: readonly MotBox[]): Map<number, MotBox[]> {
  const frames = new Map<number, MotBox[]>();
  for (const b of boxes) {
    const list = frames.get(b.frame);
    if (list) list.push(b);
    else frames.set(b.frame, [b]);
  }
  return frames;
}

export function motMetrics(gt: readonly MotBox[], hyp: readonly MotBox[], minIou = 0.5): MotMetrics {
  const gtFrames = byFrame(gt);
  const hypFrames = byFrame(hyp);
  const frames = [...new Set([...gtFrames.keys(), ...hypFrames.keys()])].sort((a, b) => a - b);
  const maxCost = 1 - minIou;

  let matches = 0;
  let fp = 0;
  let fn = 0;
  let idsw = 0;
  let iouSum = 0;
  // CLEAR-MOT: the hypothesis each object was last matched to (any earlier frame), for the switches,
  // and the matches of the previous frame, which are kept while they stay valid
  const lastMatch = new Map<number, number>();
  const pairs = new Set<string>();
  let previous = new Map<number, number>();
  // IDF1: in how many frames each (object, hypothesis) pair corresponds
  const together = new Map<number, Map<number, number>>();

  for (const frame of frames) {
    const g = gtFrames.get(frame) ?? [];
    const h = hypFrames.get(frame) ?? [];
    const cost = g.map((a) => h.map((b) => 1 - iou(a.box, b.box)));

    for (let i = 0; i < g.length; i++)
      for (let j = 0; j < h.length; j++) {
        if (cost[i][j] > maxCost) continue;
        let row = together.get(g[i].id);
        if (!row) together.set(g[i].id, (row = new Map<number, number>()));
        row.set(h[j].id, (row.get(h[j].id) ?? 0) + 1);
      }

    const current = new Map<number, number>();
    const gtTaken = new Set<number>();
    const hypTaken = new Set<number>();
    // 1. keep last frame's correspondences that are still valid, even if another hypothesis
    //    overlaps better: a tracker is not penalised for a nearby box of another track
    for (let i = 0; i < g.length; i++) {
      const hid = previous.get(g[i].id);
      if (hid === undefined) continue;
      const j = h.findIndex((b, k) => b.id === hid && !hypTaken.has(k));
      if (j < 0 || cost[i][j] > maxCost) continue;
      gtTaken.add(i);
      hypTaken.add(j);
      current.set(g[i].id, hid);
    }
    // 2. the rest by a minimal-cost assignment on 1 − IoU
    const gi = g.map((_, i) => i).filter((i) => !gtTaken.has(i));
    const hj = h.map((_, j) => j).filter((j) => !hypTaken.has(j));
    for (const [r, c] of assign(
      gi.map((i) => hj.map((j) => cost[i][j])),
      maxCost,
    )) {
      const i = gi[r];
      const j = hj[c];
      gtTaken.add(i);
      hypTaken.add(j);
      const last = lastMatch.get(g[i].id);
      if (last !== undefined && last !== h[j].id) idsw++;
      current.set(g[i].id, h[j].id);
    }
    for (const [o, hid] of current) {
      lastMatch.set(o, hid);
      pairs.add(`${o}/${hid}`);
    }
    for (const [i, gtBox] of g.entries()) {
      const hid = current.get(gtBox.id);
      if (hid === undefined) continue;
      const j = h.findIndex((b) => b.id === hid);
      iouSum += 1 - cost[i][j];
    }
    matches += current.size;
    fn += g.length - gtTaken.size;
    fp += h.length - hypTaken.size;
    previous = current;
  }

  // IDF1: the one-to-one matching of object ids to hypothesis ids with the most corresponding
  // boxes over the whole sequence (the Hungarian algorithm on minus the counts)
  const rows = [...together.values()];
  const hypIds = [...new Set(rows.flatMap((row) => [...row.keys()]))];
  const counts = rows.map((row) => hypIds.map((hid) => row.get(hid) ?? 0));
  let idtp = 0;
  for (const [r, c] of assign(
    counts.map((row) => row.map((n) => -n)),
    -1,
  ))
    idtp += counts[r][c];
  const idfn = gt.length - idtp;
  const idfp = hyp.length - idtp;
  return {
    gt: gt.length,
    hyp: hyp.length,
    matches,
    fp,
    fn,
    idsw,
    object_tracks: pairs.size,
    mota: gt.length > 0 ? 1 - (fn + fp + idsw) / gt.length : NaN,
    iou_sum: iouSum,
    motp: matches > 0 ? iouSum / matches : NaN,
    idtp,
    idfp,
    idfn,
    idf1: gt.length + hyp.length > 0 ? (2 * idtp) / (gt.length + hyp.length) : NaN,
    idp: hyp.length > 0 ? idtp / hyp.length : NaN,
    idr: gt.length > 0 ? idtp / gt.length : NaN,
  };
}

/**
 * MOTChallenge's pre-processing of ignored ground truth (conf 0: too small, hidden, cut off): per
 * frame, hypotheses are matched one to one to all ground truth, considered and ignored together
 * (minimal 1 − IoU, IoU at least minIou); those matched to an ignored box are left out, so that
 * covering such an object is neither a false positive nor a match. With `minHeight` (KITTI's rule
 * for its difficulty levels), a hypothesis lower than that which matches no considered box is
 * left out too: objects that small are not evaluated on either side. Returns the hypotheses kept.
 */
export function dropIgnored(hyp: readonly MotBox[], considered: readonly MotBox[], ignored: readonly MotBox[], minIou = 0.5, minHeight = 0): MotBox[] {
  const gtFrames = byFrame(considered);
  const ignFrames = byFrame(ignored);
  const out: MotBox[] = [];
  for (const [frame, h] of byFrame(hyp)) {
    const gt = gtFrames.get(frame) ?? [];
    const all = [...gt, ...(ignFrames.get(frame) ?? [])];
    const cost = h.map((a) => all.map((b) => 1 - iou(a.box, b.box)));
    const to = new Map<number, number>();
    for (const [r, c] of assign(cost, 1 - minIou)) to.set(r, c);
    h.forEach((b, r) => {
      const c = to.get(r);
      if (c !== undefined && c >= gt.length) return; // on ignored ground truth
      if (c === undefined && b.box.y2 - b.box.y1 < minHeight) return; // too small to be evaluated
      out.push(b);
    });
  }
  return out;
}

/** A line of a MOTChallenge file: frame,id,x,y,w,h,conf,class,visibility (the last three optional). */
export interface MotChallengeBox extends MotBox {
  /** in gt.txt the "consider" flag (0: ignore this box); in tracker output a score */
  conf: number;
  class: number;
  visibility: number;
}

/**
 * Reads a MOTChallenge `gt/gt.txt` (or a tracker's result file, same columns) into boxes. Boxes
 * whose conf is 0 are left out (MOTChallenge's ignored ground truth) unless `keepIgnored`; with
 * `classes`, only those classes are kept (1 is a pedestrian in MOT16/17/20).
 */
export function readMotChallenge(text: string, options: { classes?: readonly number[]; keepIgnored?: boolean } = {}): MotChallengeBox[] {
  const out: MotChallengeBox[] = [];
  text.split(/\r?\n/).forEach((line, n) => {
    if (line.trim() === '') return;
    // an empty or missing optional column takes its default (Number('') would be 0: "ignore")
    const f = line.split(',').map((s) => (s.trim() === '' ? undefined : Number(s)));
    const [frame, id, x, y, w, h] = f;
    if (frame === undefined || id === undefined || x === undefined || y === undefined || w === undefined || h === undefined || f.some((v) => Number.isNaN(v)))
      throw new Error(`MOTChallenge line ${n + 1}: expected frame,id,x,y,w,h,…, got "${line}"`);
    const box: MotChallengeBox = { frame, id, box: { x1: x, y1: y, x2: x + w, y2: y + h }, conf: f[6] ?? 1, class: f[7] ?? -1, visibility: f[8] ?? 1 };
    if (box.conf === 0 && !options.keepIgnored) return;
    if (options.classes && !options.classes.includes(box.class)) return;
    out.push(box);
  });
  return out;
}

/**
 * The detections of a camera-stream recording (`<segment>.jsonl`, docs/outputs.md#camera-stream-recordings):
 * a header line `{"type":"segment","width","height",…}`, then one line per detector frame
 * `{"pts","frame","detections":[{"label","class_id","score","box","track_id"?}]}` in pts order.
 * Parsed here without DOM types (test/web/detections.test.ts runs it under Node); the drawing is
 * overlay.ts.
 */

export interface OverlayBox {
  label: string;
  class_id: number;
  score: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  track_id?: number;
}

export interface DetectionFrame {
  /** seconds of the segment's media time */
  pts: number;
  boxes: OverlayBox[];
}

export interface SegmentDetections {
  /** the source frame size the boxes are in (the header's), null when the header is missing */
  width: number | null;
  height: number | null;
  frames: DetectionFrame[];
  /** the usual time between two lines (median), seconds */
  step: number;
}

/** How long a line's boxes stay drawn after its pts: this many times `step`. */
export const HOLD_STEPS = 1.5;
const DEFAULT_STEP = 0.1;

const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function box(d: unknown): OverlayBox | null {
  if (!d || typeof d !== 'object') return null;
  const o = d as Record<string, unknown>;
  const b = o.box;
  // {x1, y1, x2, y2} as the recorder writes it (the MQTT detection message's shape), or [x1, y1, x2, y2]
  const o2 = b && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : null;
  const c: unknown[] = Array.isArray(b) ? b : o2 ? [o2.x1, o2.y1, o2.x2, o2.y2] : [];
  const [x1, y1, x2, y2] = c;
  if (c.length !== 4 || !num(x1) || !num(y1) || !num(x2) || !num(y2)) return null;
  return {
    label: typeof o.label === 'string' ? o.label : '',
    class_id: num(o.class_id) ? o.class_id : 0,
    score: num(o.score) ? o.score : 0,
    x1,
    y1,
    x2,
    y2,
    ...(num(o.track_id) ? { track_id: o.track_id } : {}),
  };
}

/** Parses a detections file; a line that does not parse (the last one, cut short while written) is skipped. */
export function parseDetections(text: string): SegmentDetections {
  let width: number | null = null;
  let height: number | null = null;
  const frames: DetectionFrame[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      continue;
    }
    if (!v || typeof v !== 'object') continue;
    const o = v as Record<string, unknown>;
    if (o.type === 'segment') {
      if (num(o.width) && o.width > 0 && num(o.height) && o.height > 0) [width, height] = [o.width, o.height];
      continue;
    }
    if (!num(o.pts) || !Array.isArray(o.detections)) continue;
    frames.push({ pts: o.pts, boxes: o.detections.map(box).filter((b): b is OverlayBox => b !== null) });
  }
  frames.sort((a, b) => a.pts - b.pts); // written in pts order; sorted anyway for the search
  const gaps = frames
    .slice(1)
    .map((f, i) => f.pts - frames[i].pts)
    .filter((g) => g > 0)
    .sort((a, b) => a - b);
  const step = gaps.length ? gaps[Math.floor(gaps.length / 2)] : DEFAULT_STEP;
  return { width, height, frames, step };
}

/** The line to draw at media time `t`: the last one at or before it, if within HOLD_STEPS steps; else null (nothing drawn). */
export function frameAt(d: SegmentDetections, t: number): DetectionFrame | null {
  const f = d.frames;
  // a frame's media time and the line's pts may differ by rounding: 1 ms of slack
  const at = t + 0.001;
  let lo = 0;
  let hi = f.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (f[mid].pts <= at) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0) return null;
  return at - f[found].pts <= HOLD_STEPS * d.step ? f[found] : null;
}

/** Where a video of vw x vh shows inside an element of cw x ch with object-fit: contain. */
export function videoRect(cw: number, ch: number, vw: number, vh: number): { x: number; y: number; w: number; h: number } {
  if (!(vw > 0 && vh > 0)) return { x: 0, y: 0, w: cw, h: ch };
  const s = Math.min(cw / vw, ch / vh);
  return { x: (cw - vw * s) / 2, y: (ch - vh * s) / 2, w: vw * s, h: vh * s };
}

/** The addon's drawing colours per class id (native/src/osd.cc kPalette), so the overlay matches annotated recordings. */
export const PALETTE: ReadonlyArray<readonly [number, number, number]> = [
  [230, 25, 75],
  [60, 180, 75],
  [255, 225, 25],
  [0, 130, 200],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
  [240, 50, 230],
  [210, 245, 60],
  [250, 190, 212],
  [0, 128, 128],
  [170, 110, 40],
];

export function classColour(classId: number): readonly [number, number, number] {
  return PALETTE[Math.abs(Math.trunc(classId) % PALETTE.length)];
}

/** A box's caption as the annotated recordings have it (daemon/detect/detections.ts drawBoxes). */
export function caption(b: OverlayBox): string {
  return `${b.track_id !== undefined ? `#${b.track_id} ` : ''}${b.label} ${b.score.toFixed(2)}`;
}

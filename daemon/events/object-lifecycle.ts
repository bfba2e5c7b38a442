/**
 * The life of each object a camera's tracker follows, as events (SPEC section 8, docs/mqtt.md):
 *
 * - `new` once the track was seen in `minHits` detector frames and passes its label's filters
 *   (the median of its latest scores at least `threshold`); tracks that never get there make no
 *   event at all;
 * - `update` when something a user cares about changed: the top score (not while stationary), the
 *   zones it is in or has entered, stationary, loitering; at most once per `updateIntervalSeconds`
 *   of stream time per object: its frame is at least that long after the frame of the state shown
 *   before (a change inside that second goes out with the next frame it is seen in after it;
 *   one the object takes into its end goes out with the `end`);
 * - `end` once it has not been seen for `maxAgeSeconds` (or when the camera stops), with
 *   `end_time` the time of the last frame it was seen in.
 *
 * Works on stream time (the frames' pts); the times in the events are wall times from StreamClock.
 */
import { area, type Box } from '../core/box.js';
import type { Detection } from '../core/detection.js';
import { ObjectFilters, SCORE_HISTORY } from './filters.js';
import { StationaryDetector } from './stationary.js';
import type { ObjectEvent, TrackedObject } from './types.js';
import { ZonePresence, type Zone } from './zones.js';

export interface LifecycleOptions {
  camera: string;
  /** detector frames an object must be seen in before it is an event */
  minHits: number;
  maxAgeSeconds: number;
  stationarySeconds: number;
  stationaryIou: number;
  /** objects followed at once (reported or not yet); more are ignored and counted */
  maxObjects: number;
  /** default 1 */
  updateIntervalSeconds?: number;
  zones: readonly Zone[];
  filters: ObjectFilters;
  /** the random part of event ids (tests may fix it) */
  randomId?: () => string;
}

interface Followed {
  trackId: number;
  label: string;
  /** the event id once it is reported */
  id: string | null;
  hits: number;
  scores: number[];
  score: number;
  topScore: number;
  box: Box;
  startTime: number;
  /** stream time and wall time of the last frame it was seen in */
  lastPts: number;
  lastWall: number;
  zones: ZonePresence;
  still: StationaryDetector;
  hasSnapshot: boolean;
  /** the state the last event showed, and the stream time of the frame it is from */
  shown: TrackedObject | null;
  shownPts: number;
}

export interface LifecycleStep {
  /** the events of this frame, in order */
  events: ObjectEvent[];
  /** track ids whose best (highest) score rose in this frame: their snapshot should be this frame */
  improved: number[];
  /** track ids no longer followed (ended, or lost before they became events) */
  gone: number[];
}

const randomId = () => Math.random().toString(36).slice(2, 8).padEnd(6, '0');

export class ObjectLifecycle {
  private readonly objects = new Map<number, Followed>();
  /** detections of objects not followed because maxObjects were followed already */
  ignored = 0;
  private readonly interval: number;

  constructor(private readonly o: LifecycleOptions) {
    this.interval = o.updateIntervalSeconds ?? 1;
  }

  /**
   * Takes the tracked detections of one detector frame (each with its track_id; detections
   * without one are ignored) at stream time `pts` and wall time `wall`.
   */
  update(detections: readonly Detection[], pts: number, wall: number): LifecycleStep {
    const events: ObjectEvent[] = [];
    const ended: ObjectEvent[] = [];
    const improved: number[] = [];
    const gone: number[] = [];
    const seen = new Set<number>();
    for (const d of detections) {
      if (d.track_id === undefined || seen.has(d.track_id)) continue;
      if (!this.o.filters.accepts(d.label, d.score, d.box)) continue;
      let f = this.objects.get(d.track_id);
      if (!f) {
        if (this.objects.size >= this.o.maxObjects) {
          this.ignored++;
          continue;
        }
        f = {
          trackId: d.track_id,
          label: d.label,
          id: null,
          hits: 0,
          scores: [],
          score: d.score,
          topScore: 0,
          box: d.box,
          startTime: wall,
          lastPts: pts,
          lastWall: wall,
          zones: new ZonePresence(this.o.zones, d.label),
          still: new StationaryDetector(this.o.stationarySeconds, this.o.stationaryIou),
          hasSnapshot: false,
          shown: null,
          shownPts: -Infinity,
        };
        this.objects.set(d.track_id, f);
      }
      seen.add(d.track_id);
      f.hits++;
      f.scores.push(d.score);
      if (f.scores.length > SCORE_HISTORY) f.scores.shift();
      f.score = d.score;
      f.box = d.box;
      f.lastPts = pts;
      f.lastWall = wall;
      if (d.score > f.topScore) {
        f.topScore = d.score;
        improved.push(f.trackId);
      }
      f.zones.update(d.box, pts);
      f.still.update(d.box, pts);
      if (f.id === null && f.hits >= this.o.minHits && this.o.filters.passes(f.label, f.scores)) {
        f.id = `${f.startTime.toFixed(3)}-${(this.o.randomId ?? randomId)()}`;
        const now = this.state(f, pts, wall);
        f.shown = now;
        f.shownPts = pts;
        events.push({ type: 'new', before: now, after: now });
      }
    }
    for (const f of [...this.objects.values()]) {
      if (!seen.has(f.trackId) && pts - f.lastPts > this.o.maxAgeSeconds) {
        gone.push(f.trackId);
        const e = this.end(f);
        if (e) ended.push(e);
        continue;
      }
      // the state of the last frame it was seen in, at least a second of frames after the one shown
      if (f.id === null || f.shown === null || f.lastPts - f.shownPts < this.interval) continue;
      const now = this.state(f, f.lastPts, f.lastWall);
      if (changed(f.shown, now)) {
        events.push({ type: 'update', before: f.shown, after: now });
        f.shown = now;
        f.shownPts = f.lastPts;
      }
    }
    // the ends of a frame come before its news: in the order of the events, the number of active
    // objects is the one the counts publish after the frame, never one more
    return { events: [...ended, ...events], improved, gone };
  }

  /** Ends every object (the camera stops): their `end` events. */
  endAll(): Pick<LifecycleStep, 'events' | 'gone'> {
    const all = [...this.objects.values()];
    return { events: all.map((f) => this.end(f)).filter((e): e is ObjectEvent => e !== null), gone: all.map((f) => f.trackId) };
  }

  /** The event id of a track, once it is reported. */
  idOf(trackId: number): string | null {
    return this.objects.get(trackId)?.id ?? null;
  }

  labelOf(trackId: number): string | null {
    return this.objects.get(trackId)?.label ?? null;
  }

  /** A snapshot of the object was published: the next event shows has_snapshot. */
  markSnapshot(trackId: number): void {
    const f = this.objects.get(trackId);
    if (f) f.hasSnapshot = true;
  }

  /** The reported objects followed now. */
  active(): TrackedObject[] {
    return [...this.objects.values()].filter((f) => f.id !== null).map((f) => this.state(f, f.lastPts, f.lastWall));
  }

  /** Objects followed now, reported or not yet (each may hold a snapshot frame). */
  get size(): number {
    return this.objects.size;
  }

  private end(f: Followed): ObjectEvent | null {
    this.objects.delete(f.trackId);
    if (f.id === null || f.shown === null) return null;
    const after: TrackedObject = { ...this.state(f, f.lastPts, f.lastWall), end_time: f.lastWall };
    return { type: 'end', before: f.shown, after };
  }

  private state(f: Followed, pts: number, wall: number): TrackedObject {
    return {
      id: f.id as string,
      camera: this.o.camera,
      label: f.label,
      track_id: f.trackId,
      score: f.score,
      top_score: f.topScore,
      box: { ...f.box },
      area: Math.round(area(f.box)),
      start_time: f.startTime,
      end_time: null,
      current_zones: f.zones.current(),
      entered_zones: [...f.zones.entered],
      stationary: f.still.stationary,
      loitering: f.zones.loitering(pts),
      has_snapshot: f.hasSnapshot,
      frame_time: wall,
    };
  }
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Whether `now` differs from what was shown in something a user cares about. */
function changed(shown: TrackedObject, now: TrackedObject): boolean {
  return (
    (now.top_score !== shown.top_score && !now.stationary) ||
    now.stationary !== shown.stationary ||
    now.loitering !== shown.loitering ||
    !sameList(now.current_zones, shown.current_zones) ||
    !sameList(now.entered_zones, shown.entered_zones)
  );
}

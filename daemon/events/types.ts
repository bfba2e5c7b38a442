/**
 * The shapes of the object events (SPEC section 8, docs/mqtt.md): what `P/events` carries, what
 * `detect --events` writes and what the event store keeps. Keep them stable: the MQTT payloads,
 * the JSON-lines output and the store are all made of these.
 */
import type { Box } from '../core/box.js';

/** One tracked object as the events describe it, in the shape Frigate's `frigate/events` uses. */
export interface TrackedObject {
  /**
   * unique, never reused: `<unix seconds>.<ms>-<6 random base-36 characters>` of the moment the
   * object became an event (e.g. `1764784920.123-k3x9qa`); also the snapshot's file name
   */
  id: string;
  camera: string;
  /** the reported label (after model.label_map) */
  label: string;
  /** the tracker's id of the object in the camera's detection messages (`track_id`) */
  track_id: number;
  /** the score of the latest detection */
  score: number;
  /** the highest score so far */
  top_score: number;
  /** the latest box, in pixels of the source frame */
  box: Box;
  /** the latest box's area in pixels */
  area: number;
  /** seconds since the epoch of the first frame the object was seen in */
  start_time: number;
  /** seconds since the epoch of the last frame it was seen in, once it ended; null while active */
  end_time: number | null;
  /** the zones the object is in now (after each zone's inertia) */
  current_zones: string[];
  /** every zone it has been in, in the order it entered them */
  entered_zones: string[];
  /** true while it has not moved for the camera's stationary_seconds */
  stationary: boolean;
  /** true while it is in a zone for at least that zone's loitering_seconds (zones with 0 never count) */
  loitering: boolean;
  /** true once a snapshot of it was written (or published, when snapshots are not kept on disk) */
  has_snapshot: boolean;
  /** seconds since the epoch of the frame this state is from */
  frame_time: number;
}

export type ObjectEventType = 'new' | 'update' | 'end';

/**
 * A change of one object: `before` is the state of the previous event of the same object (for
 * `new`, the same as `after`), `after` the state now, so that a consumer needs no state of its own.
 */
export interface ObjectEvent {
  type: ObjectEventType;
  before: TrackedObject;
  after: TrackedObject;
}

/**
 * Where the daemon fans the events out to: the MQTT publisher, the event store, `detect --events`.
 * Calls come on the event loop, in order per camera, and must return at once (queue, never block).
 */
export interface EventSink {
  /** one event; per object: one `new`, updates, one `end` */
  event(ev: ObjectEvent): void;
  /**
   * a new best snapshot of an active object (JPEG bytes, box drawn), and the file it was written
   * to (`<snapshots.path>/<camera>/<id>.jpg`), or null when snapshots are not kept on disk.
   * Comes before the event that first shows `has_snapshot: true`.
   */
  snapshot(camera: string, objectId: string, label: string, jpeg: Buffer, path: string | null): void;
}

/**
 * Where the numbers of active objects go (`P/<camera>/<label>` and `P/<camera>/<zone>/<label>`):
 * called when one changes, and once for every label and zone at the camera's first frame (0).
 */
export interface CountSink {
  /** `zone` null: the whole camera */
  count(camera: string, zone: string | null, label: string, value: number): void;
}

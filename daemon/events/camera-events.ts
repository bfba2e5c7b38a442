/**
 * A camera's event layer: takes the tracked detections of each detector frame (and the frame, for
 * snapshots), follows the objects (object-lifecycle.ts: zones, filters, stationary), makes the
 * snapshots and keeps the counts, and hands the events, snapshots and counts to its sinks (the
 * MQTT publisher, the event store, `detect --events`). Everything here runs on the event loop and
 * returns at once; pixels are copied only for snapshot candidates and drawn and encoded elsewhere.
 */
import { join } from 'node:path';
import type { Detection } from '../core/detection.js';
import type { Frame } from '../core/frame.js';
import type { Logger } from '../core/log.js';
import type { EventSettings, FilterSettings, SnapshotSettings, ZoneSettings } from '../config/types.js';
import { StreamClock } from './clock.js';
import { ObjectFilters } from './filters.js';
import { ObjectLifecycle } from './object-lifecycle.js';
import { SnapshotRetention } from './snapshot-retention.js';
import { Snapshotter, type SnapshotResult } from './snapshots.js';
import type { CountSink, EventSink, ObjectEvent } from './types.js';
import { resolveZones, type Zone } from './zones.js';

/** What the camera pipeline feeds: its detector frames, in order. */
export interface FrameEvents {
  /**
   * The tracked detections of a detector frame (every one with its track_id), before boxes are
   * drawn into it; copies what it keeps and returns at once.
   */
  frame(frame: Frame, detections: readonly Detection[]): void;
}

export interface CameraEventsOptions {
  camera: string;
  /** a live source (times follow the wall clock) or a file (times are its start plus pts) */
  live: boolean;
  track: { min_hits: number; max_age_seconds: number };
  events: EventSettings;
  zones: Record<string, ZoneSettings>;
  filters: Record<string, FilterSettings>;
  snapshots: SnapshotSettings;
  /** the labels the camera reports: their counts start at 0 */
  labels: readonly string[];
  /** where events and snapshots go (read at each call: the daemon swaps its publisher on a reload) */
  sinks: () => readonly EventSink[];
  counts?: () => CountSink | null;
  logger: Logger;
  /** seconds since the epoch (tests) */
  now?: () => number;
  randomId?: () => string;
}

export interface CameraEventsStats {
  /** objects that are events now */
  active: number;
  /** objects followed, events or not yet */
  followed: number;
  events: number;
  snapshots: number;
  snapshot_failures: number;
  /** detections of objects not followed because events.max_objects were */
  ignored: number;
}

/** How long an object's `end` waits for its first snapshot (encodes queue one at a time per camera). */
export const END_WAIT_MS = 10_000;

const countKey = (zone: string | null, label: string) => `${zone ?? ''}\u0000${label}`;

export class CameraEvents implements FrameEvents {
  private readonly clock: StreamClock;
  private lifecycle: ObjectLifecycle | null = null;
  private zones: Zone[] = [];
  private readonly snapshotter: Snapshotter | null;
  /** `end` events waiting for the object's first snapshot, by track id */
  private readonly heldEnds = new Map<number, { ev: ObjectEvent; timer: NodeJS.Timeout }>();
  private readonly retention: SnapshotRetention | null;
  private readonly counts = new Map<string, { zone: string | null; label: string; value: number }>();
  private emitted = 0;
  private closed = false;

  constructor(private readonly o: CameraEventsOptions) {
    this.clock = new StreamClock(o.live, o.now);
    const snap = o.snapshots;
    const dir = snap.enabled && snap.path ? join(snap.path, o.camera) : null;
    this.snapshotter = snap.enabled
      ? new Snapshotter({
          camera: o.camera,
          dir,
          logger: o.logger,
          onSnapshot: (s) => this.onSnapshot(s),
          onSettled: (trackId) => this.releaseEnd(trackId, false),
        })
      : null;
    this.retention = dir ? new SnapshotRetention(dir, snap.retain_days, snap.max_mb, o.logger) : null;
    this.retention?.start();
  }

  /** The first frame gives the size: zones in pixels (a pixel corner outside the frame is a ConfigError), filters' fractions. */
  private start(frame: Frame): ObjectLifecycle {
    this.zones = resolveZones(this.o.camera, this.o.zones, frame.width, frame.height);
    const lifecycle = new ObjectLifecycle({
      camera: this.o.camera,
      minHits: this.o.track.min_hits,
      maxAgeSeconds: this.o.track.max_age_seconds,
      stationarySeconds: this.o.events.stationary_seconds,
      stationaryIou: this.o.events.stationary_iou,
      maxObjects: this.o.events.max_objects,
      zones: this.zones,
      filters: new ObjectFilters(this.o.filters, frame.width, frame.height),
      ...(this.o.randomId ? { randomId: this.o.randomId } : {}),
    });
    for (const label of this.o.labels) this.counts.set(countKey(null, label), { zone: null, label, value: -1 });
    for (const z of this.zones)
      for (const label of z.objects.length > 0 ? z.objects : this.o.labels) this.counts.set(countKey(z.name, label), { zone: z.name, label, value: -1 });
    return lifecycle;
  }

  frame(frame: Frame, detections: readonly Detection[]): void {
    if (this.closed) return;
    this.lifecycle ??= this.start(frame);
    const lifecycle = this.lifecycle;
    const step = lifecycle.update(detections, frame.pts, this.clock.wall(frame.pts));
    const snapshotter = this.snapshotter;
    if (snapshotter) {
      // the objects whose best score rose, and events that have no frame for their first snapshot yet
      const improved = new Set(step.improved);
      const better = detections
        .filter((d) => d.track_id !== undefined && (improved.has(d.track_id) || snapshotter.needsFrame(d.track_id)))
        .map((d) => ({ trackId: d.track_id as number, box: d.box, label: d.label, classId: d.class_id, score: d.score }));
      snapshotter.offer(frame, better);
    }
    this.emit(step.events);
    for (const id of step.gone) this.snapshotter?.ended(id);
    this.updateCounts();
  }

  private emit(events: readonly ObjectEvent[]): void {
    for (const ev of events) {
      if (ev.type === 'new') this.snapshotter?.reported(ev.after.track_id, ev.after.id);
      // an object that ends while its first snapshot is still being made: its end waits for it
      // (at most END_WAIT_MS), so that the end says has_snapshot as it will be
      if (ev.type === 'end' && !ev.after.has_snapshot && this.snapshotter?.pending(ev.after.track_id)) {
        const trackId = ev.after.track_id;
        const timer = setTimeout(() => this.releaseEnd(trackId, false), END_WAIT_MS);
        timer.unref();
        this.heldEnds.set(trackId, { ev, timer });
        continue;
      }
      this.deliver(ev);
    }
  }

  private deliver(ev: ObjectEvent): void {
    this.emitted++;
    for (const s of this.o.sinks()) s.event(ev);
  }

  /** Sends an `end` held for its snapshot: with has_snapshot when the snapshot was made. */
  private releaseEnd(trackId: number, made: boolean): void {
    const held = this.heldEnds.get(trackId);
    if (!held) return;
    clearTimeout(held.timer);
    this.heldEnds.delete(trackId);
    this.deliver(made ? { ...held.ev, after: { ...held.ev.after, has_snapshot: true } } : held.ev);
    this.updateCounts();
  }

  private onSnapshot(s: SnapshotResult): void {
    this.releaseEnd(s.trackId, true);
    this.lifecycle?.markSnapshot(s.trackId);
    if (s.path) this.retention?.wrote();
    for (const sink of this.o.sinks()) sink.snapshot(this.o.camera, s.eventId, s.label, s.jpeg, s.path);
  }

  /** Publishes the counts that changed (every one the first time). */
  private updateCounts(): void {
    const now = new Map<string, number>();
    // an object whose end waits for its snapshot is counted until that end is sent
    const held = [...this.heldEnds.values()].map((h) => h.ev.after);
    for (const obj of [...(this.lifecycle?.active() ?? []), ...held]) {
      now.set(countKey(null, obj.label), (now.get(countKey(null, obj.label)) ?? 0) + 1);
      for (const zone of obj.current_zones) now.set(countKey(zone, obj.label), (now.get(countKey(zone, obj.label)) ?? 0) + 1);
    }
    for (const key of now.keys()) {
      if (this.counts.has(key)) continue;
      const [zone, label] = key.split('\u0000');
      this.counts.set(key, { zone: zone === '' ? null : zone, label, value: -1 });
    }
    const sink = this.o.counts?.() ?? null;
    for (const [key, c] of this.counts) {
      const value = now.get(key) ?? 0;
      if (value === c.value) continue;
      c.value = value;
      sink?.count(this.o.camera, c.zone, c.label, value);
    }
  }

  /** Publishes every count again (a new MQTT publisher after a reload). */
  republishCounts(): void {
    const sink = this.o.counts?.() ?? null;
    for (const c of this.counts.values()) if (c.value >= 0) sink?.count(this.o.camera, c.zone, c.label, c.value);
  }

  /**
   * The camera stopped: pending snapshots are made, then every object ends (its `end` event) and
   * the counts go to 0.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.snapshotter?.drain();
    if (this.lifecycle) {
      const last = this.lifecycle.endAll();
      this.emit(last.events);
      for (const id of last.gone) this.snapshotter?.ended(id);
      this.updateCounts();
    }
    await this.snapshotter?.drain();
    for (const id of [...this.heldEnds.keys()]) this.releaseEnd(id, false);
    await this.retention?.stop();
  }

  stats(): CameraEventsStats {
    return {
      active: this.lifecycle?.active().length ?? 0,
      followed: this.lifecycle?.size ?? 0,
      events: this.emitted,
      snapshots: this.snapshotter?.made ?? 0,
      snapshot_failures: this.snapshotter?.failed ?? 0,
      ignored: this.lifecycle?.ignored ?? 0,
    };
  }
}

/**
 * Home Assistant MQTT discovery (mqtt.home_assistant), device-based: one retained message per
 * camera at `<discovery_prefix>/device/trt_detect_<camera>/config` describing a device with its
 * entities (`cmps`): per label a count sensor, an occupancy binary_sensor and (with snapshots) an
 * image entity for the latest snapshot; per zone and label a count sensor; the camera's status and
 * FPS. Everything is available while `P/status` is `online`. The messages are sent again when
 * Home Assistant announces itself (`<discovery_prefix>/status` = `online`), and a camera that left
 * the config gets an empty retained message (Home Assistant then removes the device): on a reload,
 * and at start for the retained discovery messages of this instance the broker still holds.
 * Unique ids are made of the camera, zone and label names only, so they stay across restarts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/files.js';
import type { Logger } from '../core/log.js';

/** What discovery needs of the MQTT connection (the MQTT publisher is one). */
export interface DiscoveryTransport {
  /** P/status */
  readonly statusTopic: string;
  /** P */
  readonly topicPrefix: string;
  publishRetained(topic: string, payload: string): void;
  subscribe(filter: string, handler: (topic: string, payload: Buffer, retained: boolean) => void): void;
}

export interface DiscoveredCamera {
  name: string;
  /** the labels it reports */
  labels: readonly string[];
  /** its zones and the labels counted in each */
  zones: ReadonlyArray<{ name: string; labels: readonly string[] }>;
  /** snapshots are published (an image entity per label) */
  snapshots: boolean;
}

export interface DiscoveryOptions {
  discoveryPrefix: string;
  /** shown as the origin's and the device's link (the web UI), or null */
  url: string | null;
  logger?: Logger;
}

const ORIGIN = 'trt-detect';

let version: string | null = null;
/** The package's version, for `sw`. */
export function softwareVersion(): string {
  if (version === null) {
    try {
      const v = (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown }).version;
      version = typeof v === 'string' ? v : 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

/** A name as a component id / unique id part: lower-case letters, digits and _. */
const idPart = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '_');

export const deviceId = (camera: string) => `trt_detect_${camera}`;

export function discoveryTopic(discoveryPrefix: string, camera: string): string {
  return `${discoveryPrefix}/device/${deviceId(camera)}/config`;
}

/** The device discovery message of one camera. */
export function discoveryPayload(topicPrefix: string, camera: DiscoveredCamera, url: string | null = null): Record<string, unknown> {
  const sw = softwareVersion();
  const dev = deviceId(camera.name);
  const base = `${topicPrefix}/${camera.name}`;
  const cmps: Record<string, Record<string, unknown>> = {};
  const occupied = "{{ 'ON' if (value | int(0)) > 0 else 'OFF' }}";
  for (const label of camera.labels) {
    const id = idPart(label);
    cmps[`${id}_count`] = {
      p: 'sensor',
      name: `${label} count`,
      unique_id: `${dev}_${id}_count`,
      state_topic: `${base}/${label}`,
      state_class: 'measurement',
      icon: 'mdi:counter',
    };
    cmps[`${id}_occupancy`] = {
      p: 'binary_sensor',
      name: `${label} occupancy`,
      unique_id: `${dev}_${id}_occupancy`,
      state_topic: `${base}/${label}`,
      value_template: occupied,
      device_class: 'occupancy',
    };
    if (camera.snapshots)
      cmps[`${id}_snapshot`] = {
        p: 'image',
        name: `${label} snapshot`,
        unique_id: `${dev}_${id}_snapshot`,
        image_topic: `${base}/${label}/snapshot`,
        content_type: 'image/jpeg',
      };
  }
  for (const zone of camera.zones) {
    for (const label of zone.labels) {
      const id = `${idPart(zone.name)}_${idPart(label)}`;
      cmps[`${id}_count`] = {
        p: 'sensor',
        name: `${zone.name} ${label} count`,
        unique_id: `${dev}_zone_${id}_count`,
        state_topic: `${base}/${zone.name}/${label}`,
        state_class: 'measurement',
        icon: 'mdi:counter',
      };
    }
  }
  cmps.status = {
    p: 'sensor',
    name: 'status',
    unique_id: `${dev}_status`,
    state_topic: `${base}/status`,
    value_template: '{{ value_json.state }}',
    device_class: 'enum',
    options: ['starting', 'streaming', 'reconnecting', 'ended', 'error'],
    entity_category: 'diagnostic',
  };
  cmps.fps = {
    p: 'sensor',
    name: 'FPS',
    unique_id: `${dev}_fps`,
    state_topic: `${base}/status`,
    value_template: '{{ value_json.fps }}',
    unit_of_measurement: 'fps',
    state_class: 'measurement',
    entity_category: 'diagnostic',
  };
  return {
    dev: { ids: [dev], name: `trt-detect ${camera.name}`, mf: ORIGIN, mdl: 'camera', sw, ...(url ? { cu: url } : {}) },
    o: { name: ORIGIN, sw, ...(url ? { url } : {}) },
    cmps,
    availability_topic: `${topicPrefix}/status`,
    payload_available: 'online',
    payload_not_available: 'offline',
  };
}

export class HomeAssistantDiscovery {
  private cameras = new Map<string, string>();
  private started = false;

  constructor(
    private readonly transport: DiscoveryTransport,
    private readonly o: DiscoveryOptions,
  ) {}

  /** Publishes the cameras' discovery messages; listens for Home Assistant's birth message and for stale devices. */
  start(cameras: readonly DiscoveredCamera[]): void {
    this.update(cameras);
    if (this.started) return;
    this.started = true;
    const dp = this.o.discoveryPrefix;
    this.transport.subscribe(`${dp}/status`, (_topic, payload) => {
      if (payload.toString('utf8').trim() !== 'online') return;
      this.o.logger?.info('home assistant online: discovery sent again');
      for (const [name, payload] of this.cameras) this.transport.publishRetained(discoveryTopic(dp, name), payload);
    });
    this.transport.subscribe(`${dp}/device/+/config`, (topic, payload, retained) => this.maybeStale(topic, payload, retained));
  }

  /** The cameras now (a reload): new and changed ones published, those gone removed. */
  update(cameras: readonly DiscoveredCamera[]): void {
    const dp = this.o.discoveryPrefix;
    const next = new Map(cameras.map((c) => [c.name, JSON.stringify(discoveryPayload(this.transport.topicPrefix, c, this.o.url))]));
    for (const name of this.cameras.keys()) if (!next.has(name)) this.transport.publishRetained(discoveryTopic(dp, name), '');
    for (const [name, payload] of next) if (this.cameras.get(name) !== payload) this.transport.publishRetained(discoveryTopic(dp, name), payload);
    this.cameras = next;
  }

  /** Removes everything this instance announced (discovery switched off, or another prefix). */
  removeAll(): void {
    this.update([]);
  }

  /**
   * A retained discovery message the broker holds for a camera of this instance (our origin, our
   * availability topic) that is not configured now: left over from an earlier run, removed.
   */
  private maybeStale(topic: string, payload: Buffer, retained: boolean): void {
    if (!retained || payload.length === 0) return;
    const m = /\/device\/trt_detect_([A-Za-z0-9_-]+)\/config$/.exec(topic);
    if (!m || this.cameras.has(m[1])) return;
    let msg: { o?: { name?: unknown }; availability_topic?: unknown };
    try {
      msg = JSON.parse(payload.toString('utf8')) as typeof msg;
    } catch {
      return;
    }
    if (msg.o?.name !== ORIGIN || msg.availability_topic !== this.transport.statusTopic) return;
    this.o.logger?.info({ camera: m[1] }, 'home assistant: removing a camera that is no longer configured');
    this.transport.publishRetained(topic, '');
  }
}

import { DEFAULT_MEDIA_NICE } from '../media/media-process.js';
import { DEFAULT_CRF, DEFAULT_PRESET, X264_PRESETS } from '../media/x264.js';
import type { EventSettings, SnapshotSettings, TrackSettings } from './types.js';
import { pointsFromString } from './zones.js';
import type { ArraySchema, BooleanSchema, EnumSchema, NumberSchema, ObjectSchema, Schema, StringSchema } from './schema.js';

/**
 * config.yaml's keys, types and defaults (docs/configuration.md): the one place they are written down.
 * config/config.yaml documents the same keys for users; a test keeps the two in step.
 */

const str = (dflt: string | null | undefined, more: Partial<StringSchema> = {}): StringSchema => ({
  type: 'string',
  ...(dflt !== undefined ? { default: dflt } : {}),
  ...(dflt === null ? { nullable: true } : {}),
  ...more,
});
const num = (dflt: number | null | undefined, more: Partial<NumberSchema> = {}): NumberSchema => ({
  type: 'number',
  ...(dflt !== undefined ? { default: dflt } : {}),
  ...(dflt === null ? { nullable: true } : {}),
  ...more,
});
const int = (dflt: number | null | undefined, more: Partial<NumberSchema> = {}): NumberSchema => num(dflt, { integer: true, ...more });
const bool = (dflt: boolean): BooleanSchema => ({ type: 'boolean', default: dflt });
const oneOf = (values: readonly string[], dflt?: string): EnumSchema => ({ type: 'enum', values, ...(dflt !== undefined ? { default: dflt } : {}) });
const obj = (fields: Record<string, Schema>, aliases?: Record<string, string>): ObjectSchema => ({ type: 'object', fields, ...(aliases ? { aliases } : {}) });
const optional = <S extends Schema>(s: S): S => {
  const { default: _drop, ...rest } = s as S & { default?: unknown };
  return { ...rest, optional: true } as S;
};

const nonEmpty = (what: string) => (v: string) => (v.trim() === '' ? `empty value (write ${what})` : null);

/** model.input's defaults (also what the backends use when a caller gives no input spec). */
export const DEFAULT_MODEL_INPUT: { color: 'rgb' | 'bgr'; mean: [number, number, number]; std: [number, number, number]; resize: 'stretch' | 'letterbox' } = {
  color: 'rgb',
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
  resize: 'stretch',
};

/** cameras.<name>.track's defaults (also what `detect` tracks a video with). */
export const DEFAULT_TRACK: TrackSettings = { enabled: true, max_age_seconds: 3, min_hits: 3, match_iou: 0.3, appearance: true };

/** cameras.<name>.events' defaults (also what `detect --events` uses). */
export const DEFAULT_EVENTS: EventSettings = { enabled: true, stationary_seconds: 10, stationary_iou: 0.6, max_objects: 100 };

/** cameras.<name>.snapshots' defaults. */
export const DEFAULT_SNAPSHOTS: SnapshotSettings = { enabled: true, path: null, retain_days: 10, max_mb: 500 };

/** Zone names, like camera names, become MQTT topic levels. */
export const ZONE_NAME = /^[A-Za-z0-9_-]+$/;

export const MODEL_EXTENSIONS = ['.onnx', '.engine', '.plan', '.trt'];

function modelPathProblem(v: string): string | null {
  if (v.trim() === '') return 'empty value (write the path of an .onnx model or a TensorRT .engine/.plan)';
  const dot = v.lastIndexOf('.');
  const ext = dot > v.lastIndexOf('/') ? v.slice(dot).toLowerCase() : '';
  if (!MODEL_EXTENSIONS.includes(ext)) return `unsupported model file "${v}" (expected an .onnx model or a TensorRT .engine/.plan)`;
  return null;
}

export const SOURCE_SCHEMES = ['csi', 'rtsp', 'rtsps', 'v4l2', 'file'];

/** Checks a camera source URI; returns "what is wrong (what to do)" or null. */
export function sourceProblem(v: string): string | null {
  if (v.trim() === '') return 'empty value (write csi://0, rtsp://host/path, v4l2:///dev/video0 or a file path)';
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(v);
  if (!m) {
    if (/^[a-z][a-z0-9+.-]*:\/(?!\/)/i.test(v)) {
      // not a URL maskSecrets recognizes (one slash): its password masked here, up to the last @
      const shown = v.replace(/^([a-z][a-z0-9+.-]*:\/)([^:@/]*:).*@/i, '$1$2***@');
      return `malformed source "${shown}" (write scheme:// with two slashes, e.g. rtsp://host/path)`;
    }
    return null; // a plain path: a video file
  }
  const scheme = m[1].toLowerCase();
  const rest = m[2];
  switch (scheme) {
    case 'csi':
      return /^\d+$/.test(rest) ? null : `invalid CSI sensor "${rest}" (write csi://0, csi://1, ...)`;
    case 'v4l2':
      return rest.startsWith('/') && rest.length > 1 ? null : `invalid V4L2 device "${v}" (write v4l2:///dev/video0, with three slashes)`;
    case 'rtsp':
    case 'rtsps': {
      const authority = rest.split(/[/?#]/)[0];
      const host = authority.slice(authority.lastIndexOf('@') + 1);
      return host ? null : `missing host in "${scheme}://" (write rtsp://[user:pass@]host[:port]/path)`;
    }
    case 'file':
      return rest ? null : 'missing path (write file:///absolute/path.mp4 or a plain path)';
    default:
      return `unsupported scheme "${m[1]}" (expected csi, rtsp, v4l2, file)`;
  }
}

const MQTT_SCHEMES = ['mqtt', 'mqtts', 'tcp', 'tls', 'ssl', 'ws', 'wss'];

export function mqttUrlProblem(v: string): string | null {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/i.exec(v);
  if (!m) return `malformed URL "${v}" (write mqtt://host:1883 or mqtts://host:8883)`;
  if (!MQTT_SCHEMES.includes(m[1].toLowerCase())) return `unsupported scheme "${m[1]}" (expected mqtt, mqtts, ws or wss)`;
  const host = m[2].slice(m[2].lastIndexOf('@') + 1);
  if (!host) return `missing host in "${v}" (write mqtt://host:1883)`;
  return null;
}

function topicPrefixProblem(v: string): string | null {
  if (v === '') return 'empty value (write a topic prefix such as trt-detect)';
  // eslint-disable-next-line no-control-regex -- NUL is not allowed in an MQTT topic either
  if (/[+#\u0000]/.test(v)) return `"${v}" contains an MQTT wildcard (+ or #) (use plain topic levels such as site1/trt-detect)`;
  if (v.startsWith('/') || v.endsWith('/') || v.includes('//')) return `"${v}" has an empty topic level (remove the leading, trailing or doubled /)`;
  return null;
}

const port = (dflt: number) => int(dflt, { min: 1, max: 65535 });
const triple = (dflt: number[], nonZero: boolean): ArraySchema => ({
  type: 'array',
  length: 3,
  default: dflt,
  example: '[0.5, 0.5, 0.5]',
  items: num(
    undefined,
    nonZero ? { check: (v) => (v === 0 ? '0 is not allowed (std divides the pixel values; use a non-zero number such as 0.5)' : null) } : {},
  ),
});
const labelList = (dflt: string[] | null, example: string): ArraySchema => ({
  type: 'array',
  items: str(undefined, { check: nonEmpty('a label name') }),
  default: dflt,
  ...(dflt === null ? { nullable: true } : {}),
  example,
});

const detectFields = {
  threshold: num(0.4, { min: 0, max: 1 }),
  nms_iou: num(0.45, { min: 0, max: 1 }),
  classes: labelList([], '[vehicle, pedestrian]'),
  interval: int(0, { min: 0, max: 1000 }),
  top_k: int(200, { min: 1, max: 10000 }),
  drop_group_boxes: bool(true),
};

export const DETECT_KEYS = Object.keys(detectFields);

const cameraSchema = obj(
  {
    source: str(undefined, { check: sourceProblem }),
    enabled: bool(true),
    loop: bool(false),
    realtime: bool(false),
    width: int(null, { min: 1, max: 16384 }),
    height: int(null, { min: 1, max: 16384 }),
    fps: num(null, { above: 0, max: 1000 }),
    rtsp_transport: oneOf(['tcp', 'udp'], 'tcp'),
    decoder: oneOf(['auto', 'gstreamer', 'ffmpeg'], 'auto'),
    stall_timeout_seconds: num(10, { min: 1, max: 3600 }),
    detect: obj(Object.fromEntries(Object.entries(detectFields).map(([k, s]) => [k, optional(s)]))),
    record: obj({
      enabled: bool(true),
      path: str('/var/lib/trt-detect/recordings', { check: nonEmpty('a directory') }),
      segment_seconds: int(60, { min: 1, max: 86400 }),
      retain_days: num(7, { min: 0, max: 3650 }),
      min_free_percent: num(10, { min: 0, max: 99 }),
      preset: oneOf(X264_PRESETS, DEFAULT_PRESET),
      crf: int(DEFAULT_CRF, { min: 0, max: 51 }),
      mode: oneOf(['annotated', 'raw', 'both'], 'annotated'),
    }),
    rtsp_out: bool(false),
    track: obj({
      enabled: bool(DEFAULT_TRACK.enabled),
      max_age_seconds: num(DEFAULT_TRACK.max_age_seconds, { above: 0, max: 600 }),
      min_hits: int(DEFAULT_TRACK.min_hits, { min: 1, max: 100 }),
      match_iou: num(DEFAULT_TRACK.match_iou, { above: 0, max: 1 }),
      appearance: bool(DEFAULT_TRACK.appearance),
    }),
    events: obj({
      enabled: bool(DEFAULT_EVENTS.enabled),
      stationary_seconds: num(DEFAULT_EVENTS.stationary_seconds, { above: 0, max: 86400 }),
      stationary_iou: num(DEFAULT_EVENTS.stationary_iou, { above: 0, max: 1 }),
      max_objects: int(DEFAULT_EVENTS.max_objects, { min: 1, max: 10000 }),
    }),
    zones: {
      type: 'map',
      keyPattern: ZONE_NAME,
      keyProblem: 'invalid zone name (use letters, digits, _ and - only: names become MQTT topic levels)',
      values: obj({
        coordinates: {
          type: 'array',
          example: '[[0, 0.5], [1, 0.5], [1, 1], [0, 1]] or "0,0.5,1,0.5,1,1,0,1"',
          items: { type: 'array', length: 2, example: '[0.25, 0.5]', items: num(undefined, { min: 0 }) },
          fromString: pointsFromString,
        },
        objects: labelList([], '[pedestrian, vehicle]'),
        inertia: int(3, { min: 1, max: 1000 }),
        loitering_seconds: num(0, { min: 0, max: 86400 }),
      }),
    },
    filters: {
      type: 'map',
      keyPattern: /\S/,
      keyProblem: 'empty label name (write the reported label, e.g. pedestrian:)',
      values: obj({
        min_area: num(0, { min: 0 }),
        max_area: num(null, { min: 0 }),
        min_ratio: num(0, { min: 0 }),
        max_ratio: num(null, { min: 0 }),
        min_score: num(0, { min: 0, max: 1 }),
        threshold: num(0, { min: 0, max: 1 }),
      }),
    },
    snapshots: obj({
      enabled: bool(DEFAULT_SNAPSHOTS.enabled),
      path: str(DEFAULT_SNAPSHOTS.path, { check: nonEmpty('a directory, or null') }),
      retain_days: num(DEFAULT_SNAPSHOTS.retain_days, { min: 0, max: 3650 }),
      max_mb: num(DEFAULT_SNAPSHOTS.max_mb, { min: 0, max: 10_000_000 }),
    }),
  },
  { url: 'source', uri: 'source', input: 'source', rtsp: 'source', recording: 'record', record_path: 'record' },
);

export const configSchema: ObjectSchema = obj({
  base_dir: str(null, { check: nonEmpty('a directory') }),
  state_dir: str(null, { check: nonEmpty('a directory') }),
  model: obj({
    path: str('models/ssdlite-mobilenet-v2-coco.onnx', { check: modelPathProblem }),
    backend: oneOf(['auto', 'tensorrt', 'onnxruntime'], 'auto'),
    precision: oneOf(['int8', 'fp16', 'fp32'], 'int8'),
    strict_precision: bool(false),
    calibration: obj({
      images: str('/var/lib/trt-detect/calib', { check: nonEmpty('a directory of calibration images') }),
      cache: str('/var/lib/trt-detect/calib.cache', { check: nonEmpty('a file path') }),
      max_files: int(5000, { min: 1, max: 1_000_000 }),
      max_megabytes: int(1024, { min: 1, max: 10_000_000 }),
      min_free_percent: num(10, { min: 0, max: 99 }),
    }),
    labels: labelList(null, '[background, vehicle, pedestrian]'),
    label_map: {
      type: 'map',
      keyPattern: /\S/,
      keyProblem: 'empty label name (write the model label to map, e.g. person: pedestrian)',
      values: str(undefined, { check: nonEmpty('the label to report, e.g. pedestrian') }),
      words: ['auto', 'none'],
      default: 'auto',
    },
    layout: oneOf(['auto', 'scores_boxes', 'nms7', 'efficient_nms'], 'auto'),
    box_order: oneOf(['auto', 'xyxy', 'yxyx'], 'auto'),
    input: obj({
      color: oneOf(['rgb', 'bgr'], DEFAULT_MODEL_INPUT.color),
      mean: triple(DEFAULT_MODEL_INPUT.mean, false),
      std: triple(DEFAULT_MODEL_INPUT.std, true),
      resize: oneOf(['stretch', 'letterbox'], DEFAULT_MODEL_INPUT.resize),
      width: int(null, { min: 1, max: 8192 }),
      height: int(null, { min: 1, max: 8192 }),
    }),
    threads: int(0, { min: 0, max: 256 }),
  }),
  detect: obj(detectFields),
  cameras: {
    type: 'map',
    keyPattern: /^[A-Za-z0-9_-]+$/,
    keyProblem: 'invalid camera name (use letters, digits, _ and - only: names become MQTT topic levels and directory names)',
    values: cameraSchema,
    minEntries: 1,
    emptyProblem: 'no cameras configured (add one, e.g. front: {source: rtsp://host/stream})',
  },
  mqtt: obj(
    {
      enabled: bool(true),
      url: str('mqtt://localhost:1883', { check: mqttUrlProblem }),
      topic_prefix: str('trt-detect', { check: topicPrefixProblem }),
      qos: int(0, { min: 0, max: 2 }),
      retain_status: bool(true),
      publish: oneOf(['detections', 'all_frames'], 'detections'),
      client_id: str(null, { check: nonEmpty('a client id, or remove the key') }),
      username: str(null),
      password: str(null),
      password_file: str(null, { check: nonEmpty('a file path, or remove the key') }),
      ca: str(null, { check: nonEmpty('a file path, or remove the key') }),
      cert: str(null, { check: nonEmpty('a file path, or remove the key') }),
      key: str(null, { check: nonEmpty('a file path, or remove the key') }),
      queue_limit: int(1000, { min: 0, max: 1_000_000 }),
      stats_interval_seconds: num(10, { min: 1, max: 86400 }),
      home_assistant: obj({
        enabled: bool(true),
        discovery_prefix: str('homeassistant', { check: topicPrefixProblem }),
        url: str(null, { check: nonEmpty('a link such as http://jetson.local:9100/, or null') }),
      }),
    },
    { broker: 'url', host: 'url', prefix: 'topic_prefix', user: 'username', pass: 'password' },
  ),
  rtsp_server: obj({
    enabled: bool(true),
    host: str('0.0.0.0', { check: nonEmpty('an address such as 0.0.0.0 or 127.0.0.1') }),
    port: port(8554),
    max_clients: int(16, { min: 1, max: 1000 }),
    max_setups_per_second: int(10, { min: 1, max: 1000 }),
  }),
  media: obj({ nice: int(DEFAULT_MEDIA_NICE, { min: 0, max: 19 }) }),
  http: obj({
    enabled: bool(true),
    host: str('0.0.0.0', { check: nonEmpty('an address such as 0.0.0.0 or 127.0.0.1') }),
    port: port(9100),
    max_connections: int(64, { min: 1, max: 10_000 }),
    auth: obj({
      enabled: bool(true),
      username: str('admin', {
        check: (v) =>
          v.trim() === '' ? 'empty value (write a user name such as admin)' : v.includes(':') ? 'a user name cannot hold ":" (HTTP Basic splits at it)' : null,
      }),
      password: str(null, { check: nonEmpty('a password, or remove the key to have one generated') }),
      password_file: str(null, { check: nonEmpty('a file path, or remove the key') }),
      open_metrics: bool(false),
    }),
    ui: bool(true),
    latest_jpeg_fps: num(2, { above: 0, max: 30 }),
  }),
  store: obj({ enabled: bool(true), path: str(null, { check: nonEmpty('a file path such as /var/lib/trt-detect/events.db, or null') }) }),
  log: obj({ level: oneOf(['trace', 'debug', 'info', 'warn', 'error'], 'info') }),
});

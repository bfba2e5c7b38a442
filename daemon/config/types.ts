/**
 * The validated config (docs/configuration.md). YAML names are kept as they are (snake_case); every default
 * is applied and every relative path is resolved to an absolute one against `base_dir`.
 */
export type Triple = [number, number, number];

export interface DetectSettings {
  threshold: number;
  nms_iou: number;
  /** label names to report; empty = all */
  classes: string[];
  /** run the detector on every (interval+1)-th frame */
  interval: number;
  top_k: number;
  /** drop a box that holds two or more better-scored boxes of its class (a crowd as one object) */
  drop_group_boxes: boolean;
}

export interface RecordConfig {
  enabled: boolean;
  path: string;
  segment_seconds: number;
  retain_days: number;
  min_free_percent: number;
  /** libx264 preset of the recordings (not used by the Jetson's hardware encoder) */
  preset: string;
  /** libx264 constant rate factor: 0 lossless .. 51 worst; +6 roughly halves the size */
  crf: number;
  /** annotated: our encode with boxes; raw: the camera's own stream (stream copy) with detections beside it; both */
  mode: 'annotated' | 'raw' | 'both';
}

export interface CameraConfig {
  /** csi://N, rtsp://..., rtsps://..., v4l2:///dev/videoN, file:///abs, or an absolute path (a file) */
  source: string;
  enabled: boolean;
  loop: boolean;
  /** file sources: frames at the file's own rate, as a camera would deliver them */
  realtime: boolean;
  width: number | null;
  height: number | null;
  fps: number | null;
  rtsp_transport: 'tcp' | 'udp';
  decoder: 'auto' | 'gstreamer' | 'ffmpeg';
  stall_timeout_seconds: number;
  /** per-camera overrides as written; merged over the top-level `detect` into `effective_detect` */
  detect: Partial<DetectSettings>;
  effective_detect: DetectSettings;
  record: RecordConfig;
  rtsp_out: boolean;
  track: TrackSettings;
  events: EventSettings;
  /** named areas of the picture; coordinates as written (pixels, or 0..1 fractions when no value is above 1) */
  zones: Record<string, ZoneSettings>;
  /** per reported label */
  filters: Record<string, FilterSettings>;
  snapshots: SnapshotSettings;
}

/** `cameras.<name>.events`: objects and their events (needs `track`). */
export interface EventSettings {
  enabled: boolean;
  /** an object whose box stays put (IoU with its box then at least stationary_iou) this long is stationary */
  stationary_seconds: number;
  stationary_iou: number;
  /** active objects at most; more are not followed (counted in the stats) */
  max_objects: number;
}

/** `cameras.<name>.zones.<zone>`. */
export interface ZoneSettings {
  /** polygon corners [x, y]: pixels of the source frame, or fractions of it when no value is above 1 */
  coordinates: Array<[number, number]>;
  /** labels that count in this zone; empty = all */
  objects: string[];
  /** consecutive detector frames the box's bottom centre must be inside (or outside) to enter (or leave) */
  inertia: number;
  /** in the zone this long: the object is `loitering`; 0 = never */
  loitering_seconds: number;
}

/**
 * `cameras.<name>.filters.<label>`: areas in pixels, or fractions of the frame area when below 1;
 * ratio is width / height; null = no limit.
 */
export interface FilterSettings {
  min_area: number;
  max_area: number | null;
  min_ratio: number;
  max_ratio: number | null;
  /** detections below this score are ignored for the object */
  min_score: number;
  /** the median of the object's scores must reach this before it becomes an event */
  threshold: number;
}

/** `cameras.<name>.snapshots`: the best frame of each object as a JPEG. */
export interface SnapshotSettings {
  enabled: boolean;
  /** <path>/<camera>/<event id>.jpg; null = published and handed to the event store, not kept as files */
  path: string | null;
  /** delete snapshots older than this; 0 = keep */
  retain_days: number;
  /** delete the oldest while the camera's snapshots take more than this many MB; 0 = no limit */
  max_mb: number;
}

/** `cameras.<name>.track`: multi-object tracking of the camera's detections. */
export interface TrackSettings {
  enabled: boolean;
  /** a track not seen for this long ends */
  max_age_seconds: number;
  /** detector frames in a row before a new object gets its id and is reported */
  min_hits: number;
  /** minimum IoU between a track's predicted box and a detection to match */
  match_iou: number;
  /** also match by the boxes' colours (a feature per box from the detector's native call) */
  appearance: boolean;
}

export interface ModelConfig {
  path: string;
  backend: 'auto' | 'tensorrt' | 'onnxruntime';
  precision: 'int8' | 'fp16' | 'fp32';
  strict_precision: boolean;
  /** INT8 calibration: the images folder, the cache, and the bounds of POST /calibration/capture in that folder */
  calibration: { images: string; cache: string; max_files: number; max_megabytes: number; min_free_percent: number };
  labels: string[] | null;
  /** auto: a pulled model's own default map (COCO -> the traffic labels), else none */
  label_map: 'auto' | 'none' | Record<string, string>;
  layout: 'auto' | 'scores_boxes' | 'nms7' | 'efficient_nms';
  box_order: 'auto' | 'xyxy' | 'yxyx';
  input: { color: 'rgb' | 'bgr'; mean: Triple; std: Triple; resize: 'stretch' | 'letterbox'; width: number | null; height: number | null };
  /** ONNX Runtime intra-op threads, 0 = auto */
  threads: number;
}

export interface MqttConfig {
  enabled: boolean;
  url: string;
  topic_prefix: string;
  qos: 0 | 1 | 2;
  retain_status: boolean;
  publish: 'detections' | 'all_frames';
  client_id: string | null;
  username: string | null;
  password: string | null;
  password_file: string | null;
  ca: string | null;
  cert: string | null;
  key: string | null;
  queue_limit: number;
  stats_interval_seconds: number;
  /** Home Assistant MQTT device discovery */
  home_assistant: { enabled: boolean; discovery_prefix: string; url: string | null };
}

/** `http.auth`: the credentials of the HTTP API and UI, also asked of RTSP clients while enabled. */
export interface HttpAuthConfig {
  enabled: boolean;
  username: string;
  password: string | null;
  /** a file holding the password (absolute); with neither, one is generated into state_dir */
  password_file: string | null;
  /** /metrics without authentication */
  open_metrics: boolean;
}

export interface Config {
  /** absolute directory relative paths were resolved against */
  base_dir: string;
  /** absolute folder for what the daemon keeps between starts (generated password, API token) */
  state_dir: string;
  model: ModelConfig;
  detect: DetectSettings;
  /** camera names match [A-Za-z0-9_-]+ (they become MQTT topic levels and paths) */
  cameras: Record<string, CameraConfig>;
  mqtt: MqttConfig;
  /** `host`: the address to listen on; `max_clients`: connections served at once (more are refused) */
  rtsp_server: { enabled: boolean; host: string; port: number; max_clients: number; max_setups_per_second: number };
  http: { enabled: boolean; host: string; port: number; max_connections: number; auth: HttpAuthConfig; ui: boolean; latest_jpeg_fps: number };
  /** the SQLite event store; `path` absolute (null in the file: <state_dir>/events.db) */
  store: { enabled: boolean; path: string };
  /** decoder/encoder processes run `nice` steps nicer than the daemon (0-19) */
  media: { nice: number };
  log: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' };
}

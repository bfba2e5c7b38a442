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
}

export interface ModelConfig {
  path: string;
  backend: 'auto' | 'tensorrt' | 'onnxruntime';
  precision: 'int8' | 'fp16' | 'fp32';
  strict_precision: boolean;
  calibration: { images: string; cache: string };
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
}

export interface Config {
  /** absolute directory relative paths were resolved against */
  base_dir: string;
  model: ModelConfig;
  detect: DetectSettings;
  /** camera names match [A-Za-z0-9_-]+ (they become MQTT topic levels and paths) */
  cameras: Record<string, CameraConfig>;
  mqtt: MqttConfig;
  /** `host`: the address to listen on; `max_clients`: connections served at once (more are refused) */
  rtsp_server: { enabled: boolean; host: string; port: number; max_clients: number };
  http: { enabled: boolean; host: string; port: number };
  /** decoder/encoder processes run `nice` steps nicer than the daemon (0-19) */
  media: { nice: number };
  log: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' };
}

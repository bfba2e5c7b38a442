/** The daemon's JSON API (docs/http.md), as the pages use it. */

export interface Camera {
  name: string;
  state: string;
  fps: number;
  error?: string;
  recording: boolean;
  latest_jpeg_url: string;
  live_url: string | null;
}

export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface EventItem {
  id: string;
  camera: string;
  label: string;
  score: number;
  top_score: number;
  box?: Box;
  /** the box in the snapshot's frame */
  snapshot_box?: Box;
  start_time: number;
  end_time: number | null;
  duration: number | null;
  entered_zones: string[];
  current_zones?: string[];
  stationary?: boolean;
  has_snapshot: boolean;
  snapshot_url: string | null;
  clip_url: string;
}

export interface Segment {
  file: string;
  start: number;
  end: number;
  size: number;
  /** annotated (boxes drawn in) or the camera's own stream (record.mode raw or both) */
  kind: 'annotated' | 'camera';
  url: string;
  /** a camera-stream segment's detections (JSON lines), null when there are none */
  detections_url: string | null;
}

export interface DayRecordings {
  camera: string;
  date: string;
  days: string[];
  event_hours: number[];
  segments: Segment[];
}

export interface CameraStats {
  state: string;
  fps: number;
  frames: number;
  inferred: number;
  dropped: number;
  reconnects: number;
  queue_depth: number;
  inference_ms: number;
  preprocess_ms: number;
  postprocess_ms: number;
  draw_ms: number;
  encode_ms: number;
  recording: string | null;
  recording_error: string | null;
}

export interface Stats {
  version: string;
  /** http.auth is on */
  auth: boolean;
  timestamp: string;
  uptime_s: number;
  cameras: Record<string, CameraStats>;
  mqtt: { connected: boolean; queued: number; dropped: number; published: number; reconnects: number } | null;
  event_loop: { p99_ms: number; max_ms: number };
  rss_mb: number;
  model: { file: string; backend: string; input: string; layout: string; labels: string[]; threads?: number } | null;
  disk: {
    recordings: Array<{ path: string; bytes: number | null; free_percent: number | null }>;
    snapshots?: Array<{ path: string; bytes: number | null; free_percent: number | null }>;
  };
  store: { available: boolean; written?: number; dropped?: number };
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Sends the browser to the login page (the daemon's /login) when the session is gone. */
export function toLogin(): void {
  const next = location.pathname + location.search + location.hash;
  location.href = `/login?next=${encodeURIComponent(next)}`;
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (res.status === 401) {
    toLogin();
    throw new HttpError(401, 'not logged in');
  }
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { error?: string };
      if (body.error) message = body.error;
    } catch {
      // not JSON
    }
    throw new HttpError(res.status, message);
  }
  return (await res.json()) as T;
}

/**
 * The web UI's JSON API under /api/ (docs/http.md#the-web-api), answered by the daemon's HTTP
 * server after its authentication gate:
 *
 *   GET /api/cameras                                  cameras with state, fps and their live URLs
 *   GET /api/events?camera=&label=&zone=&after=&before=&limit=   events newest first (the store)
 *   GET /api/events/<id>                              one event
 *   GET /api/events/<id>/snapshot.jpg                 its snapshot (from the snapshots folder)
 *   GET /api/events/<id>/clip.mp4                     the recording around it (service/event-clips.ts)
 *   GET /api/recordings/<camera>?date=YYYY-MM-DD      the day's segments (with kind and detections_url) and the hours with events
 *   GET /api/recordings/<camera>/<date>/<file>.mp4    one segment, annotated or the camera's stream (byte ranges; ?download=1)
 *   GET /api/recordings/<camera>/<date>/<file>.jsonl  a camera-stream segment's detections (application/x-ndjson)
 *   GET /api/stats                                    per camera figures, model, MQTT, disk, version
 *   GET /api/cameras/<camera>/latest.jpg              the latest annotated frame (service/latest-jpeg.ts)
 *
 * Bad parameters are 400, unknown cameras and ids 404, a missing event store 503, each with one
 * line of JSON `{"error": "..."}`. Files are served only from the recordings, snapshots and clip
 * folders, and only after their real path was checked to lie inside one (http-files.ts).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { basename, join } from 'node:path';
import type { Config } from '../config/index.js';
import { errorMessage } from '../core/errors.js';
import { packageRoot } from '../core/files.js';
import type { Logger } from '../core/log.js';
import type { ModelInfo } from '../detect/types.js';
import { freePercent } from '../sinks/recorder.js';
import { MAX_QUERY_LIMIT, type EventQuery, type EventRecord, type EventStore, type StoredObject } from '../store/event-store.js';
import type { EncodedStream } from '../sinks/encoded-stream.js';
import { ClipBusy, EventClips, NoRecording } from './event-clips.js';
import { LiveStreams, refuseUpgrade } from './live-stream.js';
import { fileInside, sendFile } from './http-files.js';
import type { LatestJpegs } from './latest-jpeg.js';
import type { ServiceView } from './metrics.js';
import { dayStart, DAY_PATTERN, DETECTIONS_PATTERN, listDays, listSegmentsOfDay, localDate, SEGMENT_PATTERN, segmentsCovering } from './recordings-index.js';

/** What the API reads of the running daemon (service/daemon.ts implements it). */
export interface WebDaemon {
  readonly activeConfig: Config;
  statsSnapshot(): Record<string, unknown>;
  /** the detector's model, null before it is loaded */
  readonly modelInfo: ModelInfo | null;
  /** null when the store is off (store.enabled false, no binding, a file it could not open) */
  readonly eventStore: EventStore | null;
  readonly latestJpegs: LatestJpegs;
  /** where an event's snapshot is: the folder it must lie in and the file; null when it has none */
  snapshotOf?(event: EventRecord): { root: string; file: string } | null;
  /** a camera's one H.264 encode, for the live stream (service/live-stream.ts) */
  encodedStream(camera: string): EncodedStream | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const CAMERA_NAME = /^[A-Za-z0-9_-]+$/;
const EVENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** a label or zone name: 1 to 64 characters, none of them a control character */
const textParam = (v: string) => v.length <= 64 && ![...v].some((ch) => ch.charCodeAt(0) < 32 || ch.charCodeAt(0) === 127);
const EVENT_PARAMS = ['camera', 'label', 'zone', 'after', 'before', 'limit'];
const DEFAULT_LIMIT = 100;

function version(): string {
  try {
    const v = (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown }).version;
    return typeof v === 'string' ? v : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** A time parameter: seconds since the epoch, or an ISO 8601 date/time. */
function parseTime(name: string, value: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const t = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) throw new ApiError(400, `${name}: "${value}" is not a time (seconds since the epoch, or an ISO date such as 2026-12-03T10:00:00Z)`);
  return t / 1000;
}

/** The query of GET /api/events; throws ApiError 400 for an unknown or bad parameter. */
export function parseEventQuery(params: URLSearchParams): EventQuery {
  const q: EventQuery = { limit: DEFAULT_LIMIT };
  for (const [key, value] of params) {
    if (!EVENT_PARAMS.includes(key)) throw new ApiError(400, `unknown parameter "${key}" (expected ${EVENT_PARAMS.join(', ')})`);
    if (params.getAll(key).length > 1) throw new ApiError(400, `parameter "${key}" given more than once`);
    if (value === '') continue;
    switch (key) {
      case 'camera':
        if (!CAMERA_NAME.test(value)) throw new ApiError(400, `camera: "${value}" is not a camera name (letters, digits, _ and -)`);
        q.camera = value;
        break;
      case 'label':
      case 'zone':
        if (!textParam(value)) throw new ApiError(400, `${key}: at most 64 characters, no control characters`);
        q[key] = value;
        break;
      case 'after':
      case 'before':
        q[key] = parseTime(key, value);
        break;
      case 'limit':
        if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_QUERY_LIMIT)
          throw new ApiError(400, `limit: "${value}" is not a whole number from 1 to ${MAX_QUERY_LIMIT}`);
        q.limit = Number(value);
        break;
    }
  }
  return q;
}

function onlyParams(params: URLSearchParams, allowed: string[]): void {
  for (const key of params.keys()) {
    if (!allowed.includes(key))
      throw new ApiError(400, `unknown parameter "${key}"${allowed.length ? ` (expected ${allowed.join(', ')})` : ' (this path takes none)'}`);
  }
}

/** Disk use of a folder (du -sk, off the event loop), cached for a minute. */
class DiskUse {
  private readonly cache = new Map<string, { at: number; value: Promise<{ bytes: number | null; free_percent: number | null }> }>();

  of(dir: string): Promise<{ bytes: number | null; free_percent: number | null }> {
    const hit = this.cache.get(dir);
    if (hit && Date.now() - hit.at < 60_000) return hit.value;
    const value = Promise.all([
      new Promise<number | null>((resolve) =>
        execFile('du', ['-sk', dir], { timeout: 20_000 }, (err, stdout) => {
          const kb = Number(String(stdout).split(/\s/)[0]);
          resolve(err && !(kb > 0) ? null : Number.isFinite(kb) ? kb * 1024 : null);
        }),
      ),
      freePercent(dir),
    ]).then(([bytes, free]) => ({ bytes, free_percent: free === null ? null : Number(free.toFixed(1)) }));
    if (this.cache.size > 64) this.cache.clear();
    this.cache.set(dir, { at: Date.now(), value });
    return value;
  }
}

export class WebApi {
  readonly clips: EventClips;
  readonly live: LiveStreams;
  private readonly disk = new DiskUse();
  private readonly version = version();

  constructor(
    private readonly daemon: WebDaemon,
    private readonly view: ServiceView,
    private readonly logger: Logger,
    /** whether http.auth is on (the page shows a log-out button) */
    private readonly authEnabled = false,
  ) {
    this.clips = new EventClips(join(daemon.activeConfig.store.path, '..', 'clips'));
    this.live = new LiveStreams(daemon, logger);
  }

  /** The live stream's WebSocket (GET /api/cameras/<camera>/live with Upgrade); false for other paths. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): boolean {
    const m = /^\/api\/cameras\/([^/]+)\/live$/.exec(path);
    if (!m) return false;
    const name = m[1];
    if (!CAMERA_NAME.test(name)) refuseUpgrade(socket, 400, 'not a camera name');
    else if (!this.daemon.activeConfig.cameras[name]?.enabled) refuseUpgrade(socket, 404, `no camera "${name}"`);
    else this.live.upgrade(req, socket, head, name);
    return true;
  }

  /** Answers a request under /api/; false when the path is not the API's. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, query: string): boolean {
    if (path !== '/api' && !path.startsWith('/api/')) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendJson(req, res, 405, { error: `method ${req.method} not allowed` });
      return true;
    }
    const params = new URLSearchParams(query);
    this.route(req, res, path, params).catch((err: unknown) => {
      if (err instanceof ApiError) return sendJson(req, res, err.status, { error: err.message });
      this.logger.error({ err: errorMessage(err), path }, 'api request failed');
      if (!res.headersSent) sendJson(req, res, 500, { error: errorMessage(err) });
      else res.destroy();
    });
    return true;
  }

  private async route(req: IncomingMessage, res: ServerResponse, path: string, params: URLSearchParams): Promise<void> {
    let parts: string[];
    try {
      parts = path.split('/').slice(2).map(decodeURIComponent);
    } catch {
      throw new ApiError(400, 'malformed percent-encoding in the path');
    }
    const [section, a, b, c, extra] = parts;
    if (section === 'cameras' && a === undefined) {
      onlyParams(params, []);
      return sendJson(req, res, 200, this.cameras());
    }
    if (section === 'cameras' && b === 'live' && c === undefined) {
      this.camera(a);
      throw new ApiError(426, 'the live stream is a WebSocket: connect with Upgrade: websocket');
    }
    if (section === 'cameras' && b === 'latest.jpg' && c === undefined) {
      onlyParams(params, ['t']); // t: a cache buster the page adds
      return this.latest(req, res, this.camera(a));
    }
    if (section === 'events' && a === undefined) {
      const q = parseEventQuery(params);
      return sendJson(
        req,
        res,
        200,
        (await this.store().query(q)).map((e) => this.withLinks(e)),
      );
    }
    if (section === 'events' && c === undefined) {
      onlyParams(params, []);
      const event = await this.event(a);
      if (b === undefined) return sendJson(req, res, 200, this.withLinks(event));
      if (b === 'snapshot.jpg') return this.snapshot(req, res, event);
      if (b === 'clip.mp4') return this.clip(req, res, event);
    }
    if (section === 'recordings' && a !== undefined && b === undefined) {
      onlyParams(params, ['date']);
      return sendJson(req, res, 200, await this.recordings(this.camera(a), params.get('date')));
    }
    if (section === 'recordings' && c !== undefined && extra === undefined) {
      onlyParams(params, ['download']);
      return this.segment(req, res, this.camera(a), b, c, params.get('download'));
    }
    if (section === 'stats' && a === undefined) {
      onlyParams(params, []);
      return sendJson(req, res, 200, await this.stats());
    }
    throw new ApiError(404, `no such path ${path} (see docs/http.md: /api/cameras, /api/events, /api/recordings/<camera>, /api/stats)`);
  }

  /** A configured, enabled camera's name, else 400 (bad name) or 404 (unknown). */
  private camera(name: string): string {
    if (!CAMERA_NAME.test(name)) throw new ApiError(400, `"${name}" is not a camera name (letters, digits, _ and -)`);
    const cam = this.daemon.activeConfig.cameras[name];
    if (!cam?.enabled) throw new ApiError(404, `no camera "${name}"`);
    return name;
  }

  private store(): EventStore {
    const store = this.daemon.eventStore;
    if (!store?.available)
      throw new ApiError(503, 'the event store is off (store.enabled is false, or the SQLite binding or file could not be opened: see the log)');
    return store;
  }

  private async event(id: string): Promise<EventRecord> {
    if (!EVENT_ID.test(id)) throw new ApiError(400, `"${id.slice(0, 64)}" is not an event id`);
    const event = await this.store().get(id);
    if (!event) throw new ApiError(404, `no event "${id}"`);
    return event;
  }

  /** An event as the API shows it: with its URLs, without the server's file paths. */
  private withLinks({ snapshot_path, ...e }: EventRecord): StoredObject & { duration: number | null; snapshot_url: string | null; clip_url: string } {
    const base = `/api/events/${encodeURIComponent(e.id)}`;
    const snapshot = e.has_snapshot || snapshot_path !== null;
    return { ...e, snapshot_url: snapshot ? `${base}/snapshot.jpg` : null, clip_url: `${base}/clip.mp4` };
  }

  private cameras(): unknown[] {
    const cfg = this.daemon.activeConfig;
    return this.view.cameras().map((c) => {
      const cam = cfg.cameras[c.name];
      return {
        name: c.name,
        state: c.state,
        fps: Number((c.stats?.fps ?? 0).toFixed(2)),
        ...(c.error ? { error: c.error } : {}),
        recording: Boolean(cam?.record.enabled),
        latest_jpeg_url: `/api/cameras/${c.name}/latest.jpg`,
        live_url: LiveStreams.path(c.name),
      };
    });
  }

  private async latest(req: IncomingMessage, res: ServerResponse, camera: string): Promise<void> {
    const state = this.view.cameras().find((c) => c.name === camera)?.state;
    const jpeg = await this.daemon.latestJpegs.get(camera, state === 'streaming' ? 3000 : 0);
    if (!jpeg) throw new ApiError(503, `camera "${camera}" has no frame yet (${state ?? 'stopped'})`);
    res.statusCode = 200;
    res.setHeader('Content-Type', 'image/jpeg');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Length', jpeg.length);
    res.end(req.method === 'HEAD' ? undefined : jpeg);
  }

  private async snapshot(req: IncomingMessage, res: ServerResponse, event: EventRecord): Promise<void> {
    const has = event.has_snapshot || event.snapshot_path !== null;
    const where = has ? this.daemon.snapshotOf?.(event) : null;
    const file = where ? await fileInside(where.root, where.file) : null;
    if (file) return sendFile(req, res, file, { type: 'image/jpeg', cache: 'private, max-age=3600' });
    // snapshots not kept as files: the store holds the JPEG
    const jpeg = has && !where ? await this.store().snapshotJpeg(event.id) : null;
    if (!jpeg) throw new ApiError(404, `event "${event.id}" has no snapshot`);
    res.statusCode = 200;
    res.setHeader('Content-Type', 'image/jpeg');
    res.setHeader('Cache-Control', 'private, max-age=3600');
    res.setHeader('Content-Length', jpeg.length);
    res.end(req.method === 'HEAD' ? undefined : jpeg);
  }

  private async clip(req: IncomingMessage, res: ServerResponse, event: EventRecord): Promise<void> {
    const cam = this.daemon.activeConfig.cameras[event.camera];
    if (!cam) throw new ApiError(404, `event "${event.id}": camera "${event.camera}" is not in the config any more`);
    const { from, to } = EventClips.window(event);
    const segments = await segmentsCovering(cam.record.path, event.camera, from, to);
    let file: string;
    try {
      file = await this.clips.clip(event, segments);
    } catch (err) {
      if (err instanceof NoRecording) throw new ApiError(404, `event "${event.id}": ${err.message}`);
      if (err instanceof ClipBusy) {
        res.setHeader('Retry-After', '5');
        throw new ApiError(503, err.message);
      }
      throw err;
    }
    const inside = await fileInside(join(this.daemon.activeConfig.store.path, '..', 'clips'), file);
    if (!inside) throw new ApiError(404, `event "${event.id}": the clip is gone`);
    await sendFile(req, res, inside, { type: 'video/mp4', cache: event.end_time === null ? 'no-store' : 'private, max-age=3600' });
  }

  private async recordings(camera: string, date: string | null): Promise<unknown> {
    const root = this.daemon.activeConfig.cameras[camera].record.path;
    const days = await listDays(root, camera);
    if (date !== null && date !== '' && dayStart(date) === null) throw new ApiError(400, `date: "${date}" is not a date (YYYY-MM-DD)`);
    const day = date || (days.length ? days[days.length - 1] : localDate(Date.now() / 1000));
    const start = dayStart(day) as number;
    const end = dayStart(localDate(start + 36 * 3600)) as number; // the next local midnight (23 or 25 h on DST days)
    const segments = await listSegmentsOfDay(root, camera, day);
    const store = this.daemon.eventStore;
    const hours = store?.available ? await store.activeHours(camera, start, end) : [];
    return {
      camera,
      date: day,
      days,
      event_hours: hours,
      segments: segments.map((s) => ({
        file: s.file,
        start: s.start,
        end: s.end,
        size: s.size,
        kind: s.kind,
        url: `/api/recordings/${camera}/${s.date}/${s.file}`,
        detections_url: s.detections ? `/api/recordings/${camera}/${s.date}/${basename(s.detections)}` : null,
      })),
    };
  }

  private async segment(req: IncomingMessage, res: ServerResponse, camera: string, date: string, file: string, download: string | null): Promise<void> {
    const detections = DETECTIONS_PATTERN.test(file);
    if (!DAY_PATTERN.test(date) || !(detections || SEGMENT_PATTERN.test(file)))
      throw new ApiError(400, `"${date}/${file}" is not a segment name (YYYY-MM-DD/HH-MM-SS[-N][.raw].mp4, or .jsonl for its detections)`);
    const root = this.daemon.activeConfig.cameras[camera].record.path;
    const path = await fileInside(root, join(root, camera, date, file));
    if (!path) throw new ApiError(404, `no ${detections ? 'detections file' : 'segment'} ${camera}/${date}/${file}`);
    // the detections of the segment being recorded grow: streamed up to the size they had when asked
    await sendFile(req, res, path, {
      type: detections ? 'application/x-ndjson' : 'video/mp4',
      ...(download ? { download: `${camera}-${date}-${file}` } : {}),
    });
  }

  private async stats(): Promise<unknown> {
    const cfg = this.daemon.activeConfig;
    const snap = this.daemon.statsSnapshot();
    const info = this.daemon.modelInfo;
    const roots = [...new Set(Object.values(cfg.cameras).map((c) => c.record.path))];
    const recordings = await Promise.all(roots.map(async (dir) => ({ path: dir, ...(await this.disk.of(dir)) })));
    const snapRoots = [...new Set(Object.values(cfg.cameras).flatMap((c) => (c.snapshots.enabled && c.snapshots.path !== null ? [c.snapshots.path] : [])))];
    const snapshots = await Promise.all(snapRoots.map(async (dir) => ({ path: dir, ...(await this.disk.of(dir)) })));
    const store = this.daemon.eventStore;
    return {
      version: this.version,
      auth: this.authEnabled,
      ...snap,
      model: info
        ? {
            file: basename(info.path),
            backend: info.backend,
            input: `${info.inputWidth}x${info.inputHeight}`,
            layout: info.layout,
            labels: [...new Set(info.labels.filter((l, i) => !info.ignoreClasses.includes(i)))],
            ...(info.threads !== undefined ? { threads: info.threads } : {}),
          }
        : null,
      disk: { recordings, snapshots },
      store: store ? { available: store.available, written: store.written, dropped: store.dropped } : { available: false },
    };
  }
}

export function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(req.method === 'HEAD' ? undefined : text);
}

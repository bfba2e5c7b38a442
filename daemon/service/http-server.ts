/**
 * The daemon's HTTP endpoint (config `http`): GET /healthz, GET /metrics (Prometheus text), the
 * login page (GET/POST /login, POST /logout) and, when given a CalibrationControl, POST/GET
 * /calibration/capture (INT8 calibration frames). Everything but /healthz and /login goes through
 * the Auth gate (service/auth.ts; /metrics too unless http.auth.open_metrics); with http.ui, the
 * web UI at / and its JSON API under /api/ (WebRoutes), behind the same gate.
 * node:http only; every request is answered from the in-memory ServiceView, nothing blocks.
 *
 * Bounds (docs/http.md#limits): request heads of at most 16 KB and 64 header lines; request bodies
 * only where a route reads one (the login form, 4 KB); any other request that announces a body of
 * more than 64 KB is answered 413, and a request whose body is left unread closes its connection;
 * the head must arrive within 10 s and the whole request within 30 s; idle keep-alive connections
 * close after 5 s; at most `http.max_connections` connections at once (more are closed at once).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { RuntimeFailure, errorMessage } from '../core/errors.js';
import type { Auth } from './auth.js';
import { CaptureRequestError, type CalibrationControl } from './calibration-capture.js';
import type { Logger } from '../core/log.js';
import { maskSecrets } from '../core/secrets.js';
import { mallocArenas } from '../native.js';
import { refuseUpgrade } from './live-stream.js';
import { LoopDelayMonitor } from './loop-delay.js';
import { renderMetrics, type CameraView, type ProcessFigures, type ServiceView } from './metrics.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface Health {
  ok: boolean;
  body: {
    status: 'ok' | 'unhealthy';
    /** why unhealthy: the cameras that are neither streaming nor ended, with their states */
    reason?: string;
    /** `recording` (cameras with record.enabled): "ok" while writing (or waiting for the first frame), "error: …" while it failed and retries */
    cameras: Record<string, { state: string; fps: number; error?: string; recording?: string }>;
    mqtt: { connected: boolean } | null;
  };
}

/**
 * Healthy when every enabled camera is streaming or ended (file sources that finished). A failed
 * recording does not make it unhealthy (the camera still detects, and the recorder retries by
 * itself): it shows as the camera's `recording: "error: …"` and in /metrics.
 */
export function healthOf(view: ServiceView): Health {
  const cams = view.cameras();
  const cameras: Health['body']['cameras'] = {};
  const bad: CameraView[] = [];
  for (const c of cams) {
    cameras[c.name] = { state: c.state, fps: c.stats?.fps ?? 0, ...(c.state === 'error' && c.error ? { error: c.error } : {}), ...recordingHealth(c) };
    if (c.state !== 'streaming' && c.state !== 'ended') bad.push(c);
  }
  const mqttStats = view.mqtt();
  const mqtt = mqttStats ? { connected: mqttStats.connected } : null;
  if (!bad.length) return { ok: true, body: { status: 'ok', cameras, mqtt } };
  const reason = `cameras not streaming: ${bad.map((c) => `${c.name} (${c.state}${c.state === 'error' && c.error ? `: ${c.error}` : ''})`).join(', ')}`;
  return { ok: false, body: { status: 'unhealthy', reason, cameras, mqtt } };
}

/** A camera's `recording` entry in /healthz (absent while no pipeline runs). */
function recordingHealth(c: CameraView): { recording?: string } {
  if (!c.stats?.recording_enabled) return {};
  return { recording: c.stats.recording_error ? `error: ${c.stats.recording_error.replace(/^recording stopped: /, '')}` : 'ok' };
}

export interface HttpServerOptions {
  host: string;
  port: number;
  view: ServiceView;
  logger: Logger;
  /** for error messages: where http.port was set */
  configPath?: string;
  /** process figures for /metrics; default: this process */
  processFigures?: () => ProcessFigures;
  /** POST/GET /calibration/capture (the daemon's CalibrationCapture); absent = that path is 404 */
  calibration?: CalibrationControl;
  /** who may use what (service/auth.ts createAuth); a disabled Auth opens everything */
  auth: Auth;
  /** connections at once (http.max_connections, default 64) */
  maxConnections?: number;
  /** the web UI and its /api/ (http.ui); absent = those paths are 404 */
  web?: WebRoutes;
}

/** Routes beyond /healthz and /metrics (the web UI, service/web-api.ts and web-static.ts). */
export interface WebRoutes {
  /** answers the request and returns true, or returns false when the path is not its */
  handle(req: IncomingMessage, res: ServerResponse, path: string, query: string): boolean;
  /** takes over an authenticated WebSocket upgrade (the live view) and returns true, or returns false */
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): boolean;
  /** closes what the routes hold open (live viewers) */
  close?(): void;
}

/** the most a request head may hold (bytes) and how many header lines */
export const MAX_HEADER_BYTES = 16 * 1024;
export const MAX_HEADER_LINES = 64;
/** a body announced larger than this is refused at once (413) on every route */
export const MAX_BODY_BYTES = 64 * 1024;
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;
export const KEEP_ALIVE_TIMEOUT_MS = 5000;

export const CALIBRATION_PATH = '/calibration/capture';

/** Serves /healthz and /metrics until close(). */
export class HttpServer {
  private readonly loop = new LoopDelayMonitor();

  private constructor(
    private readonly server: Server,
    private readonly opts: HttpServerOptions,
  ) {}

  /** The port actually bound (useful with port 0). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get host(): string {
    return this.opts.host;
  }

  /**
   * Binds host:port. A port in use or not allowed rejects with one RuntimeFailure line naming
   * the address and the config key to change.
   */
  static listen(opts: HttpServerOptions): Promise<HttpServer> {
    // connectionsCheckingInterval (Node 18.12+; Node 16 checks each socket itself): how often the
    // header and request timeouts are looked at (Node's default 30 s would let a slow head linger 40 s)
    const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES, connectionsCheckingInterval: 1000 } as Parameters<typeof createServer>[0]);
    const http = new HttpServer(server, opts);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => http.handle(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => http.upgrade(req, socket, head));
    // a scraper that never finishes its request must not hold the daemon open at shutdown
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    server.headersTimeout = HEADERS_TIMEOUT_MS;
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    server.maxHeadersCount = MAX_HEADER_LINES;
    server.maxConnections = opts.maxConnections ?? 64;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        http.loop.stop();
        const where = `${opts.host}:${opts.port}`;
        const key = opts.configPath ? `${opts.configPath}: http.port` : 'http.port';
        if (err.code === 'EADDRINUSE')
          reject(new RuntimeFailure(`http: ${where} is already in use (${key}: choose a free port, or stop the program that holds it)`));
        else if (err.code === 'EACCES') reject(new RuntimeFailure(`http: not allowed to listen on ${where} (${key}: use a port above 1023)`));
        else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND')
          reject(new RuntimeFailure(`http: cannot listen on ${where}: no such local address (check http.host)`));
        else reject(new RuntimeFailure(`http: cannot listen on ${where} (${errorMessage(err)})`));
      };
      server.once('error', onError);
      server.listen(opts.port, opts.host, () => {
        server.off('error', onError);
        server.on('error', (err) => opts.logger.error({ err: errorMessage(err) }, 'http server error'));
        resolve(http);
      });
    });
  }

  private processFigures(): ProcessFigures {
    if (this.opts.processFigures) return this.opts.processFigures();
    const m = process.memoryUsage();
    let arenas: number | null = null;
    try {
      arenas = mallocArenas();
    } catch {
      // no addon (a test server): not reported
    }
    return {
      rssBytes: m.rss,
      heap: { usedBytes: m.heapUsed, totalBytes: m.heapTotal, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers },
      ...(arenas !== null ? { mallocArenas: arenas } : {}),
      startTimeSeconds: Math.round(Date.now() / 1000 - process.uptime()),
      loopDelay: this.loop.window(),
    };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const [path, query = ''] = (req.url ?? '/').split('?', 2);
    const auth = this.opts.auth;
    try {
      // a body nobody reads must not keep the connection busy: it closes after the answer
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > MAX_BODY_BYTES) {
        res.setHeader('Connection', 'close');
        this.send(req, res, 413, 'application/json', JSON.stringify({ error: `request body too large (at most ${MAX_BODY_BYTES} bytes)` }));
        return;
      }
      if (path === '/login') return auth.handleLogin(req, res);
      if (path === '/logout') return auth.handleLogout(req, res);
      if (declared > 0 || req.headers['transfer-encoding'] !== undefined) res.setHeader('Connection', 'close');
      const open = path === '/healthz' || (path === '/metrics' && auth.openMetrics);
      if (!open && !auth.gate(req, res)) return;
      if (path === CALIBRATION_PATH && this.opts.calibration) {
        this.calibrationRequest(req, res, this.opts.calibration, new URLSearchParams(query));
        return;
      }
      if (this.opts.web?.handle(req, res, path, query)) return;
      if (path !== '/healthz' && path !== '/metrics') {
        this.send(req, res, 404, 'application/json', JSON.stringify({ error: `no such path ${path} (try /healthz or /metrics)` }));
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        this.send(req, res, 405, 'application/json', JSON.stringify({ error: `method ${req.method} not allowed` }));
        return;
      }
      if (path === '/healthz') {
        const health = healthOf(this.opts.view);
        this.send(req, res, health.ok ? 200 : 503, 'application/json', JSON.stringify(health.body));
      } else {
        this.send(req, res, 200, METRICS_CONTENT_TYPE, renderMetrics(this.opts.view, this.processFigures()));
      }
    } catch (err) {
      this.opts.logger.error({ err: errorMessage(err), path }, 'http request failed');
      this.send(req, res, 500, 'application/json', JSON.stringify({ error: errorMessage(err) }));
    }
  }

  /** POST starts a capture (202), GET/HEAD reports progress; bad requests get {"error": ...} with 400/404/409/507. */
  private calibrationRequest(req: IncomingMessage, res: ServerResponse, calibration: CalibrationControl, query: URLSearchParams): void {
    if (req.method === 'POST') {
      calibration.start(query).then(
        (started) => this.send(req, res, 202, 'application/json', JSON.stringify(started)),
        (err: unknown) => {
          if (err instanceof CaptureRequestError) this.send(req, res, err.status, 'application/json', JSON.stringify({ error: err.message }));
          else {
            this.opts.logger.error({ err: errorMessage(err) }, 'calibration capture request failed');
            this.send(req, res, 500, 'application/json', JSON.stringify({ error: errorMessage(err) }));
          }
        },
      );
    } else if (req.method === 'GET' || req.method === 'HEAD') {
      this.send(req, res, 200, 'application/json', JSON.stringify(calibration.progress()));
    } else {
      res.setHeader('Allow', 'GET, HEAD, POST');
      this.send(req, res, 405, 'application/json', JSON.stringify({ error: `method ${req.method} not allowed` }));
    }
  }

  /** Every answer goes out through maskSecrets (camera errors in /healthz, labels in /metrics). */
  private send(req: IncomingMessage, res: ServerResponse, status: number, type: string, text: string): void {
    const body = maskSecrets(text);
    res.statusCode = status;
    res.setHeader('Content-Type', type);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /**
   * A WebSocket upgrade (the web UI's live view): the same credentials as any request, and a page
   * of another site may not open one (its Origin must be this host); then the web routes take it.
   */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    try {
      const path = (req.url ?? '/').split('?', 1)[0];
      const check = this.opts.auth.check(req);
      if (check !== 'ok')
        return refuseUpgrade(socket, check === 'limited' ? 429 : 401, check === 'limited' ? 'too many failed logins' : 'authentication required');
      const origin = req.headers.origin;
      let sameOrigin = true;
      try {
        sameOrigin = origin === undefined || new URL(origin).host === req.headers.host;
      } catch {
        sameOrigin = false;
      }
      if (!sameOrigin) return refuseUpgrade(socket, 403, 'a page of another site may not open this stream');
      if (!this.opts.web?.upgrade?.(req, socket, head, path)) refuseUpgrade(socket, 404, `no WebSocket at ${path}`);
    } catch (err) {
      this.opts.logger.error({ err: errorMessage(err) }, 'http upgrade failed');
      socket.destroy();
    }
  }

  /** Stops listening and closes idle keep-alive connections; resolves within `timeoutMs`. */
  close(timeoutMs = 2000): Promise<void> {
    this.loop.stop();
    this.opts.web?.close?.();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      // Node 18.2+: drop idle keep-alive sockets now (on Node 16 they end with keepAliveTimeout)
      const s = this.server as Server & { closeIdleConnections?: () => void };
      s.closeIdleConnections?.();
    });
  }
}

/**
 * A live viewer of the web UI for the memory step: what the browser's live view does
 * (web/src/live-player.ts), without the video element. It logs in as the login page does
 * (POST /login with JSON, the session cookie back), opens the camera's WebSocket
 * (`/api/cameras/<camera>/live`, service/live-stream.ts) with that cookie and the page's Origin, and
 * reads every message for as long as it runs: the codec string, the init segment (`ftyp` + `moov`),
 * then one fragment (`moof` + `mdat`) per picture. It counts messages and bytes and checks that the
 * binary messages are MP4 boxes. A connection that ends (the daemon closed it, the stream
 * restarted, an error) is opened again a second later, with a new login when the session was
 * refused; every end is listed.
 */
import { request } from 'node:http';
import WebSocket from 'ws';
import { errorMessage } from '../core/errors.js';

export interface LiveViewerOptions {
  port: number;
  camera: string;
  username: string;
  password: string;
  /** ms before a dropped connection is opened again (default 1000) */
  reconnectMs?: number;
}

export interface LiveViewerStats {
  /** WebSocket connections opened (1 when it never dropped) */
  connections: number;
  /** logins made (a session refused on reconnect logs in again) */
  logins: number;
  /** all messages, and how many of them were the text codec string */
  messages: number;
  text_messages: number;
  /** init segments (ftyp + moov) and media fragments (moof + mdat) received */
  init_segments: number;
  fragments: number;
  /** binary messages that were not MP4 boxes */
  bad_messages: number;
  bytes: number;
  /** the codec string of the last connection */
  codec: string | null;
  /** seconds from start to the first fragment, null when none came */
  first_fragment_s: number | null;
  /** seconds since the last message when the stats were taken */
  idle_s: number | null;
  /** whether a connection is open now */
  connected: boolean;
  /** each end of a connection (close code and reason, or the error), in order */
  drops: string[];
}

/** The type of each top-level MP4 box in `data`, null when it is not a sequence of boxes. */
export function mp4BoxTypes(data: Buffer): string[] | null {
  const types: string[] = [];
  let at = 0;
  while (at < data.length) {
    if (data.length - at < 8) return null;
    const size = data.readUInt32BE(at);
    if (size < 8 || at + size > data.length) return null;
    types.push(data.toString('latin1', at + 4, at + 8));
    at += size;
  }
  return types.length ? types : null;
}

function login(o: LiveViewerOptions): Promise<string> {
  const body = JSON.stringify({ username: o.username, password: o.password });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: o.port,
        path: '/login',
        method: 'POST',
        timeout: 10_000,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Origin: `http://127.0.0.1:${o.port}` },
      },
      (res) => {
        res.resume();
        const cookie = (res.headers['set-cookie'] ?? []).map((c) => c.split(';', 1)[0]).find((c) => c.startsWith('trt_detect_session='));
        res.on('end', () => (res.statusCode === 200 && cookie ? resolve(cookie) : reject(new Error(`login: HTTP ${String(res.statusCode)}`))));
      },
    );
    req.on('timeout', () => req.destroy(new Error('login: timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

export class LiveViewer {
  private readonly s: LiveViewerStats = {
    connections: 0,
    logins: 0,
    messages: 0,
    text_messages: 0,
    init_segments: 0,
    fragments: 0,
    bad_messages: 0,
    bytes: 0,
    codec: null,
    first_fragment_s: null,
    idle_s: null,
    connected: false,
    drops: [],
  };
  private ws: WebSocket | null = null;
  private cookie: string | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly t0 = Date.now();
  private lastMessage: number | null = null;

  constructor(private readonly o: LiveViewerOptions) {}

  /** Starts watching; resolves once the first connection is open (rejects when the first login fails). */
  async start(): Promise<void> {
    this.cookie = await login(this.o);
    this.s.logins++;
    await new Promise<void>((resolve, reject) => this.connect(resolve, reject));
  }

  private connect(opened?: () => void, failed?: (err: Error) => void): void {
    if (this.stopped) return;
    const url = `ws://127.0.0.1:${this.o.port}/api/cameras/${encodeURIComponent(this.o.camera)}/live`;
    const ws = new WebSocket(url, { headers: { Cookie: this.cookie ?? '' }, origin: `http://127.0.0.1:${this.o.port}`, perMessageDeflate: false });
    this.ws = ws;
    let refused = false;
    ws.on('unexpected-response', (_req, res) => {
      refused = res.statusCode === 401;
      res.resume();
      const err = new Error(`upgrade refused: HTTP ${String(res.statusCode)}`);
      this.dropped(err.message, refused);
      failed?.(err);
      failed = undefined;
    });
    ws.on('open', () => {
      this.s.connections++;
      this.s.connected = true;
      opened?.();
      failed = undefined;
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.lastMessage = Date.now();
      this.s.messages++;
      this.s.bytes += data.length;
      if (!isBinary) {
        this.s.text_messages++;
        this.s.codec = data.toString('utf8');
        return;
      }
      const types = mp4BoxTypes(data);
      if (!types) this.s.bad_messages++;
      else if (types.includes('moov')) this.s.init_segments++;
      else if (types.includes('moof') && types.includes('mdat')) {
        this.s.fragments++;
        this.s.first_fragment_s ??= Number(((Date.now() - this.t0) / 1000).toFixed(2));
      } else this.s.bad_messages++;
    });
    ws.on('error', (err) => {
      if (ws.readyState === WebSocket.CONNECTING && failed) {
        failed(err);
        failed = undefined;
      }
      this.dropped(`error: ${errorMessage(err)}`, false);
    });
    ws.on('close', (code, reason) => this.dropped(`closed ${code}${reason.length ? ` ${reason.toString()}` : ''}`, false));
  }

  /** One end of a connection: listed once, then a new connection (and a new login when refused) a second later. */
  private dropped(why: string, relogin: boolean): void {
    const ws = this.ws;
    if (!ws || this.stopped) return;
    this.ws = null;
    this.s.connected = false;
    this.s.drops.push(`${((Date.now() - this.t0) / 1000).toFixed(0)}s: ${why}`);
    ws.removeAllListeners();
    ws.on('error', () => undefined);
    ws.terminate();
    this.retry(relogin);
  }

  private retry(relogin: boolean): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!relogin) return this.connect();
      login(this.o).then(
        (c) => {
          this.cookie = c;
          this.s.logins++;
          this.connect();
        },
        (err) => {
          this.s.drops.push(`${((Date.now() - this.t0) / 1000).toFixed(0)}s: login again: ${errorMessage(err)}`);
          this.retry(true);
        },
      );
    }, this.o.reconnectMs ?? 1000);
  }

  get stats(): LiveViewerStats {
    return { ...this.s, drops: [...this.s.drops], idle_s: this.lastMessage === null ? null : Number(((Date.now() - this.lastMessage) / 1000).toFixed(1)) };
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close(1000);
    this.ws?.terminate();
    this.ws = null;
  }
}

import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { RuntimeFailure } from '../core/errors.js';
import { NAL, nalType, profileLevelId, type AccessUnit } from '../media/h264.js';
import type { RtspAuthenticator } from './rtsp-auth.js';
import { RtspInput, type RtspRequest } from './rtsp-input.js';

/**
 * A small RTSP 1.0 server (RFC 2326) for H.264 live streams: one stream per path
 * (`rtsp://host:port/<name>`), any number of clients, RFC 6184 packetization (single NAL unit and
 * FU-A). RTP goes over the RTSP TCP connection (interleaved, RFC 2326 section 10.12) or, for
 * clients that ask for it, unicast UDP; the TCP connection is the session either way (a client
 * that closes it stops receiving). Multicast is not offered.
 *
 * A client that reads too slowly loses pictures (never the other clients or the pipeline): when
 * its socket buffer holds more than `maxClientBacklog` bytes it waits for the next keyframe.
 */

const RTP_MTU = 1400;
const PAYLOAD_TYPE = 96;
const CLOCK = 90_000;
const SERVER = 'trt-detect';
/** a client that has not read for this long while media piles up is disconnected */
const STUCK_MS = 30_000;

/** DESCRIBEs that may wait for one stream's parameter sets at once (more are answered 503 at once) */
const MAX_WAITERS = 32;
/** ... and of one connection (more are answered 503 at once) */
const MAX_WAITERS_PER_CLIENT = 4;
/** how long a DESCRIBE waits for a stream that has not sent its parameter sets yet */
const DESCRIBE_WAIT_MS = 3000;

/** A stream with no new picture for this long (the sources' default stall timeout) is not offered to new clients (503). */
const STALE_MS = 10_000;

/** One mounted stream: producers push access units; the server fans them out to its clients. */
export class RtspStream {
  sps: Buffer | null = null;
  pps: Buffer | null = null;
  readonly clients = new Set<RtspClient>();
  private readonly spsWaiters: Array<() => void> = [];
  /** access units pushed so far */
  pushed = 0;
  /** when the last one was pushed (ms, Date.now()); 0 before the first */
  lastPushAt = 0;
  /** keeps RTP time increasing when a producer restarts its pts (camera restarted by a reload) */
  private tsOffset = 0;
  private lastTs: number | null = null;

  constructor(readonly name: string) {}

  /** Sends one picture to every playing client; `pts` in seconds (any origin, increasing). */
  push(au: AccessUnit, pts: number): void {
    for (const n of au.nals) {
      const t = nalType(n);
      if (t === NAL.SPS) this.sps = n;
      else if (t === NAL.PPS) this.pps = n;
    }
    if (this.sps && this.pps && this.spsWaiters.length) for (const w of [...this.spsWaiters]) w();
    this.pushed++;
    this.lastPushAt = Date.now();
    let ts = Math.round(pts * CLOCK) + this.tsOffset;
    if (this.lastTs !== null && ts <= this.lastTs) {
      this.tsOffset += this.lastTs - ts + 3000;
      ts = this.lastTs + 3000;
    }
    this.lastTs = ts;
    for (const c of this.clients) {
      try {
        c.send(au, ts, this);
      } catch {
        c.close(); // one client's failure never reaches the producer (the camera's pipeline)
      }
    }
  }

  /** DESCRIBEs waiting for this stream's parameter sets */
  get waiting(): number {
    return this.spsWaiters.length;
  }

  /**
   * Resolves once parameter sets are known, or after `timeoutMs`, or when `signal` aborts (the
   * client left), whichever comes first (DESCRIBE then answers 503); the waiter is gone in every
   * case. At most `MAX_WAITERS` wait at once: more resolve at once.
   */
  waitForParameterSets(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if ((this.sps && this.pps) || signal?.aborted || this.spsWaiters.length >= MAX_WAITERS) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        const i = this.spsWaiters.indexOf(done);
        if (i >= 0) this.spsWaiters.splice(i, 1);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done);
      this.spsWaiters.push(done);
    });
  }

  sdp(host: string, sessionId: string): string {
    const fmtp = ['packetization-mode=1'];
    if (this.sps && this.pps) {
      fmtp.push(`profile-level-id=${profileLevelId(this.sps)}`, `sprop-parameter-sets=${this.sps.toString('base64')},${this.pps.toString('base64')}`);
    }
    return [
      'v=0',
      `o=- ${sessionId} 1 IN IP4 ${host}`,
      `s=${SERVER} ${this.name}`,
      'c=IN IP4 0.0.0.0',
      't=0 0',
      'a=control:*',
      'a=range:npt=0-',
      `m=video 0 RTP/AVP ${PAYLOAD_TYPE}`,
      `a=rtpmap:${PAYLOAD_TYPE} H264/${CLOCK}`,
      `a=fmtp:${PAYLOAD_TYPE} ${fmtp.join(';')}`,
      'a=control:trackID=0',
      '',
    ].join('\r\n');
  }

  /** Disconnects every client (the stream is being removed). */
  closeClients(): void {
    for (const c of [...this.clients]) c.close();
  }
}

/** One RTSP connection. */
class RtspClient {
  private readonly input = new RtspInput();
  readonly session = randomBytes(8).toString('hex');
  private stream: RtspStream | null = null;
  private channel = 0;
  private playing = false;
  /** waiting for a keyframe before sending (start of play, or after falling behind) */
  private needKeyframe = true;
  private seq = randomBytes(2).readUInt16BE(0);
  private readonly ssrc = randomBytes(4).readUInt32BE(0);
  private readonly tsBase = randomBytes(4).readUInt32BE(0);
  private firstTs: number | null = null;
  private closed = false;
  /** aborted when the connection closes (ends a DESCRIBE's wait) */
  private readonly gone = new AbortController();
  /** DESCRIBEs of this connection waiting for parameter sets */
  private describing = 0;
  /** pictures skipped: before the first keyframe, and because this client read too slowly */
  skipped = 0;
  /** fell behind, waiting for a keyframe: the pictures skipped count in the server's `skipped` */
  private catchingUp = false;
  /** UDP transport: our sockets and where the client listens; null = interleaved on TCP */
  private udp: { rtp: UdpSocket; rtcp: UdpSocket; host: string; port: number } | null = null;
  /** closes a connection that has not started playing in time (set up and never played, or paused) */
  private notPlayingTimer: NodeJS.Timeout | null = null;
  /** reading paused: this client does not read its replies (it is dropped after STUCK_MS) */
  private readPaused: NodeJS.Timeout | null = null;
  /** since when this client has been too far behind (it is dropped after STUCK_MS) */
  private behindSince: number | null = null;
  /** a request of this connection passed the server's authenticator (the connection is trusted from then on) */
  private authenticated = false;

  constructor(
    private readonly socket: Socket,
    private readonly server: RtspServer,
  ) {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000); // a viewer that vanished without closing is noticed
    socket.setTimeout(60_000, () => this.close()); // idle: neither requests nor media for a minute
    socket.on('drain', () => this.resumeReading());
    this.armNotPlaying();
    socket.on('data', (d: Buffer) => {
      try {
        this.onData(d);
      } catch {
        this.close(); // a bug in parsing must not end the process: drop this one connection
      }
    });
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  /** the client's address, for logs */
  peer(): string {
    return `${(this.socket.remoteAddress ?? '?').replace(/^::ffff:/i, '')}:${this.socket.remotePort ?? '?'}`;
  }

  /** Leaves the stream and closes the connection (`destroy` false: the socket was ended and flushes what it holds). */
  close(destroy = true): void {
    if (this.closed) return;
    this.closed = true;
    this.gone.abort();
    if (this.notPlayingTimer) clearTimeout(this.notPlayingTimer);
    if (this.readPaused) clearTimeout(this.readPaused);
    if (this.playing && this.stream) this.server.onClient?.('left', this.stream.name, this.peer(), this.udp ? 'udp' : 'tcp');
    this.udp?.rtp.close();
    this.udp?.rtcp.close();
    this.udp = null;
    this.stream?.clients.delete(this);
    this.server.clients.delete(this);
    if (destroy) this.socket.destroy();
  }

  private onData(d: Buffer): void {
    if (this.closed) return;
    // more waiting than one request, its body and one interleaved packet can be: not RTSP
    if (!this.input.push(d)) return this.refuse('400 Bad Request');
    this.pump();
  }

  /** Handles the requests received, until none is complete or reading is paused. */
  private pump(): void {
    for (;;) {
      if (this.closed || this.readPaused) return;
      const item = this.input.next();
      if (!item) return;
      // the framing is lost (a negative, non-numeric or oversized Content-Length, a huge head): answer and close
      if (item.kind === 'bad') return this.refuse('400 Bad Request', item.headers.get('cseq'));
      this.dispatch(item.request);
      this.pauseReadingIfBehind();
    }
  }

  /** (Re)starts the wait for PLAY: a connection that does not play within `notPlayingTimeoutMs` is closed. */
  private armNotPlaying(): void {
    if (this.notPlayingTimer) clearTimeout(this.notPlayingTimer);
    this.notPlayingTimer = setTimeout(() => this.close(), this.server.notPlayingTimeoutMs);
    this.notPlayingTimer.unref();
  }

  /** How many bytes wait in this connection's send buffer. */
  get backlog(): number {
    return this.socket.writableLength;
  }

  /**
   * Replies pile up when a client sends requests and does not read: stop reading its requests
   * until its buffer drains (media has its own limit, see send), and drop it if that takes too long.
   */
  private pauseReadingIfBehind(): void {
    if (this.readPaused || this.closed || this.socket.writableLength <= 2 * this.server.maxClientBacklog) return;
    this.socket.pause();
    this.readPaused = setTimeout(() => this.close(), STUCK_MS);
    this.readPaused.unref();
  }

  private resumeReading(): void {
    if (!this.readPaused || this.closed) return;
    clearTimeout(this.readPaused);
    this.readPaused = null;
    try {
      this.pump();
    } catch {
      return this.close();
    }
    if (!this.readPaused) this.socket.resume();
  }

  /** Answers `status` and closes the connection once the answer is out. */
  private refuse(status: string, cseq?: string): void {
    if (this.closed) return;
    this.socket.end(`RTSP/1.0 ${status}\r\nCSeq: ${cseq ?? '0'}\r\nServer: ${SERVER}\r\nConnection: close\r\n\r\n`);
    setTimeout(() => this.socket.destroy(), 2000).unref();
    this.close(false);
  }

  /**
   * Runs one request's handler. Nothing a request does may escape into the event loop (an
   * unhandled rejection ends the process): a bad URL is answered 400, anything else that throws
   * 500 Internal Server Error, and that one connection is closed.
   */
  private dispatch(req: RtspRequest): void {
    if (!validRequestUrl(req.url)) return this.reply(req, '400 Bad Request');
    const failed = () => {
      this.reply(req, '500 Internal Server Error');
      this.close();
    };
    try {
      this.handle(req).catch(failed);
    } catch {
      failed();
    }
  }

  private reply(req: RtspRequest, status: string, headers: Record<string, string | number> | Array<[string, string]> = {}, body = ''): void {
    if (this.closed) return;
    const lines = [`RTSP/1.0 ${status}`, `CSeq: ${req.headers.get('cseq') ?? '0'}`, `Server: ${SERVER}`, `Date: ${new Date().toUTCString()}`];
    for (const [k, v] of Array.isArray(headers) ? headers : Object.entries(headers)) lines.push(`${k}: ${v}`);
    if (body) lines.push('Content-Type: application/sdp', `Content-Length: ${Buffer.byteLength(body)}`);
    this.socket.write(lines.join('\r\n') + '\r\n\r\n' + body);
  }

  /**
   * While the server has an authenticator, every request but OPTIONS of a connection that has not
   * authenticated yet is checked: false = answered (401 with the challenges, 403 while the
   * client's address is blocked after too many failures; that closes the connection).
   */
  private authorized(req: RtspRequest): boolean {
    const auth = this.server.auth;
    if (!auth || this.authenticated || req.method === 'OPTIONS') return true;
    const address = (this.socket.remoteAddress ?? '?').replace(/^::ffff:/i, '');
    const result = auth.check(req.method, req.url, req.headers.get('authorization'), address);
    if (result.ok) {
      this.authenticated = true;
      return true;
    }
    this.server.unauthorized++;
    this.reply(req, result.status, result.headers);
    if (!result.status.startsWith('401')) {
      // blocked: the answer goes out, then the connection ends
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 2000).unref();
      this.close(false);
    }
    return false;
  }

  private async handle(req: RtspRequest): Promise<void> {
    const sessionHeader = { Session: `${this.session};timeout=60` };
    if (!this.authorized(req)) return;
    switch (req.method) {
      case 'OPTIONS':
        return this.reply(req, '200 OK', { Public: 'OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER' });
      case 'DESCRIBE': {
        const stream = this.server.streamFor(req.url);
        if (!stream) return this.reply(req, '404 Not Found');
        if (this.describing < MAX_WAITERS_PER_CLIENT) {
          this.describing++;
          try {
            await stream.waitForParameterSets(DESCRIBE_WAIT_MS, this.gone.signal);
          } finally {
            this.describing--;
          }
        }
        // a configured camera that has not streamed yet, or whose frames stopped (it is reconnecting):
        // say so at once instead of a session that never gets a picture (404 is for unknown names)
        if (!stream.sps || Date.now() - stream.lastPushAt > STALE_MS) return this.reply(req, '503 Service Unavailable', { 'Retry-After': '5' });
        const base = req.url.endsWith('/') ? req.url : `${req.url}/`;
        return this.reply(req, '200 OK', { 'Content-Base': base }, stream.sdp(this.socket.localAddress ?? '0.0.0.0', this.session));
      }
      case 'SETUP': {
        const stream = this.server.streamFor(req.url);
        if (!stream) return this.reply(req, '404 Not Found');
        // a burst of session setups (a reconnect storm, a scan) waits its turn instead of costing sockets and timers
        if (!this.server.setupAllowed()) return this.reply(req, '503 Service Unavailable', { 'Retry-After': '1' });
        const transport = req.headers.get('transport') ?? '';
        const offers = transport.split(',');
        const tcp = offers.find((t) => /RTP\/AVP\/TCP/i.test(t));
        const udp = offers.find((t) => /^RTP\/AVP(\/UDP)?;/i.test(t.trim()) && /unicast/i.test(t) && /client_port=/i.test(t));
        if (!tcp && udp && !this.udp) {
          const client = clientPorts(udp);
          if (!client) return this.reply(req, '461 Unsupported Transport');
          try {
            const remote = (this.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/i, '');
            const family = remote.includes(':') ? 'udp6' : 'udp4';
            const [rtp, rtcp] = await Promise.all([udpSocket(family), udpSocket(family)]);
            rtcp.on('message', () => undefined); // receiver reports: nothing to do with them
            this.udp = { rtp, rtcp, host: remote, port: client };
            this.stream = stream;
            this.armNotPlaying();
            return this.reply(req, '200 OK', {
              Transport: `RTP/AVP;unicast;client_port=${client}-${client + 1};server_port=${rtp.address().port}-${rtcp.address().port};ssrc=${this.ssrc.toString(16).padStart(8, '0')}`,
              ...sessionHeader,
            });
          } catch {
            return this.reply(req, '500 Internal Server Error');
          }
        }
        if (!tcp) return this.reply(req, '461 Unsupported Transport');
        const m = /interleaved=(\d+)(?:-(\d+))?/i.exec(tcp);
        this.channel = m && Number(m[1]) <= 254 ? Number(m[1]) & 0xfe : 0; // one byte on the wire, RTP on the even channel
        this.stream = stream;
        this.armNotPlaying();
        return this.reply(req, '200 OK', {
          Transport: `RTP/AVP/TCP;unicast;interleaved=${this.channel}-${this.channel + 1};ssrc=${this.ssrc.toString(16).padStart(8, '0')}`,
          ...sessionHeader,
        });
      }
      case 'PLAY': {
        if (!this.stream) return this.reply(req, '455 Method Not Valid in This State');
        this.playing = true;
        this.needKeyframe = true;
        if (this.notPlayingTimer) clearTimeout(this.notPlayingTimer);
        this.notPlayingTimer = null;
        // media over UDP leaves the RTSP connection quiet: TCP keepalive alone watches it from now on
        if (this.udp) this.socket.setTimeout(0);
        this.stream.clients.add(this);
        this.server.onClient?.('playing', this.stream.name, this.peer(), this.udp ? 'udp' : 'tcp');
        return this.reply(req, '200 OK', {
          ...sessionHeader,
          Range: 'npt=0.000-',
          'RTP-Info': `url=${req.url.replace(/\/$/, '')}/trackID=0;seq=${this.seq};rtptime=${this.tsBase}`,
        });
      }
      case 'PAUSE':
        this.playing = false;
        this.armNotPlaying();
        this.stream?.clients.delete(this);
        return this.reply(req, '200 OK', sessionHeader);
      case 'TEARDOWN':
        this.reply(req, '200 OK', sessionHeader);
        return this.close();
      case 'GET_PARAMETER':
      case 'SET_PARAMETER':
        return this.reply(req, '200 OK', sessionHeader);
      default:
        return this.reply(req, '501 Not Implemented');
    }
  }

  /** Packetizes one access unit (RFC 6184) and writes it interleaved on the RTSP connection. */
  send(au: AccessUnit, ts: number, stream: RtspStream): void {
    if (!this.playing || this.closed) return;
    if (this.socket.writableLength > this.server.maxClientBacklog) {
      this.needKeyframe = true;
      this.skipped++;
      this.server.skipped++;
      this.catchingUp = true;
      this.behindSince ??= Date.now();
      if (Date.now() - this.behindSince > STUCK_MS) this.close();
      return;
    }
    this.behindSince = null;
    if (this.needKeyframe) {
      if (!au.keyframe) {
        this.skipped++;
        if (this.catchingUp) this.server.skipped++;
        return;
      }
      this.needKeyframe = false;
      this.catchingUp = false;
    }
    if (this.firstTs === null) this.firstTs = ts;
    const rtpTs = (this.tsBase + ts - this.firstTs) >>> 0;
    let nals = au.nals;
    // a client joining at a keyframe needs the parameter sets in-band if the encoder sent them earlier
    if (au.keyframe && !nals.some((n) => nalType(n) === NAL.SPS) && stream.sps && stream.pps) nals = [stream.sps, stream.pps, ...nals];
    const packets: Buffer[] = [];
    nals.forEach((nal, i) => {
      const last = i === nals.length - 1;
      if (nal.length <= RTP_MTU) {
        packets.push(this.packet(nal, null, rtpTs, last));
        return;
      }
      // FU-A: indicator (F, NRI, type 28), header (S, E, type), then a piece of the payload
      const indicator = (nal[0] & 0xe0) | 28;
      const type = nal[0] & 0x1f;
      for (let off = 1; off < nal.length; off += RTP_MTU - 2) {
        const end = Math.min(nal.length, off + RTP_MTU - 2);
        const header = (off === 1 ? 0x80 : 0) | (end === nal.length ? 0x40 : 0) | type;
        packets.push(this.packet(nal.subarray(off, end), Buffer.from([indicator, header]), rtpTs, last && end === nal.length));
      }
    });
    if (this.udp) {
      const { rtp, host, port } = this.udp;
      try {
        for (const pkt of packets) rtp.send(pkt.subarray(4), port, host);
      } catch {
        this.close(); // the port was checked at SETUP: whatever this is, it ends this client only
      }
      return;
    }
    this.socket.write(Buffer.concat(packets));
  }

  private packet(payload: Buffer, prefix: Buffer | null, ts: number, marker: boolean): Buffer {
    const size = 12 + (prefix ? prefix.length : 0) + payload.length;
    const out = Buffer.allocUnsafe(4 + size);
    out[0] = 0x24;
    out[1] = this.channel;
    out.writeUInt16BE(size, 2);
    out[4] = 0x80; // version 2
    out[5] = (marker ? 0x80 : 0) | PAYLOAD_TYPE;
    out.writeUInt16BE(this.seq, 6);
    this.seq = (this.seq + 1) & 0xffff;
    out.writeUInt32BE(ts, 8);
    out.writeUInt32BE(this.ssrc, 12);
    let off = 16;
    if (prefix) {
      prefix.copy(out, off);
      off += prefix.length;
    }
    payload.copy(out, off);
    return out;
  }
}

/**
 * The client's RTP port from a UDP transport offer (`client_port=5000-5001`), or null when it is
 * not one we can send to: RTP on an even port in 1..65534, RTCP (if given) on the next one.
 */
export function clientPorts(offer: string): number | null {
  const m = /client_port=(\d{1,5})(?:-(\d{1,5}))?(?:[;,\s]|$)/i.exec(offer);
  if (!m) return null;
  const rtp = Number(m[1]);
  if (rtp < 1 || rtp > 65534 || rtp % 2 !== 0) return null;
  if (m[2] !== undefined && Number(m[2]) !== rtp + 1) return null;
  return rtp;
}

/** A UDP socket on a free port, for one client's RTP or RTCP. */
function udpSocket(family: 'udp4' | 'udp6'): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const s = createSocket(family);
    s.once('error', reject);
    s.bind(0, () => {
      s.removeListener('error', reject);
      s.on('error', () => undefined); // ICMP port unreachable after the client left: ignore
      resolve(s);
    });
  });
}

/** The mount name of an RTSP URL: its first path segment (`rtsp://h:p/front/trackID=0` → `front`); '' when it is not valid percent-encoding. */
export function streamNameOf(url: string): string {
  const path = url.replace(/^rtsps?:\/\/[^/]*/i, '').split('?')[0];
  try {
    return decodeURIComponent(path.split('/').filter(Boolean)[0] ?? '');
  } catch {
    return '';
  }
}

/** A request URL we can work with: `*`, or an absolute or relative URL whose percent-encoding decodes. */
function validRequestUrl(url: string): boolean {
  if (url === '') return false;
  if (url === '*') return true;
  try {
    decodeURIComponent(url.replace(/^rtsps?:\/\/[^/]*/i, ''));
    return true;
  } catch {
    return false;
  }
}

export interface RtspServerOptions {
  /** connections served at once; more are answered 453 Not Enough Bandwidth and closed (default 16) */
  maxClients?: number;
  /** a connection that does not PLAY this long after connecting, SETUP or PAUSE is closed (default 30 s) */
  notPlayingTimeoutMs?: number;
  /** SETUPs accepted per second, all clients together; more are answered 503 with Retry-After: 1 (default 10) */
  maxSetupsPerSecond?: number;
  /** checks the clients' credentials (every request but OPTIONS until one passes); null/absent = open */
  auth?: RtspAuthenticator | null;
}

export class RtspServer {
  private server: Server | null = null;
  private readonly streams = new Map<string, RtspStream>();
  readonly clients = new Set<RtspClient>();
  /** bytes a client may have unsent before it skips to the next keyframe */
  maxClientBacklog = 4 * 1024 * 1024;
  port = 0;
  /** told when a client starts playing a stream and when a playing client leaves (the daemon logs it) */
  onClient?: (event: 'playing' | 'left', stream: string, peer: string, transport: 'tcp' | 'udp') => void;
  readonly maxClients: number;
  readonly notPlayingTimeoutMs: number;
  /** pictures not sent to a client because it read too slowly (all clients, since start) */
  skipped = 0;
  /** connections refused because `maxClients` were connected */
  refused = 0;
  /** requests answered 401/403 by the authenticator */
  unauthorized = 0;
  /** SETUPs answered 503 because more than `maxSetupsPerSecond` came */
  setupsRefused = 0;
  private refusing = 0;
  readonly maxSetupsPerSecond: number;
  /** token bucket of SETUPs: `setupTokens` left, refilled at maxSetupsPerSecond up to that many */
  private setupTokens: number;
  private setupRefillAt = Date.now();
  /** the clients' credentials check (changes on reload); null = open */
  auth: RtspAuthenticator | null;

  constructor(opts: RtspServerOptions = {}) {
    this.maxClients = opts.maxClients ?? 16;
    this.notPlayingTimeoutMs = opts.notPlayingTimeoutMs ?? 30_000;
    this.maxSetupsPerSecond = opts.maxSetupsPerSecond ?? 10;
    this.setupTokens = this.maxSetupsPerSecond;
    this.auth = opts.auth ?? null;
  }

  /** Takes one SETUP from the bucket; false when `maxSetupsPerSecond` were taken in the last second. */
  setupAllowed(): boolean {
    const now = Date.now();
    this.setupTokens = Math.min(this.maxSetupsPerSecond, this.setupTokens + ((now - this.setupRefillAt) / 1000) * this.maxSetupsPerSecond);
    this.setupRefillAt = now;
    if (this.setupTokens < 1) {
      this.setupsRefused++;
      return false;
    }
    this.setupTokens--;
    return true;
  }

  /** Playing clients per mounted stream. */
  clientCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, s] of this.streams) out[name] = s.clients.size;
    return out;
  }

  /** Starts listening; rejects with one clear line when the port is taken. */
  listen(port: number, host = '0.0.0.0'): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => {
        if (this.clients.size < this.maxClients) this.clients.add(new RtspClient(socket, this));
        else this.refuse(socket);
      });
      server.once('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'EADDRINUSE' ? `port ${port} is already in use (set rtsp_server.port to a free port)` : err.message;
        reject(new RuntimeFailure(`rtsp_server: cannot listen on ${host}:${port}: ${why}`));
      });
      server.listen(port, host, () => {
        const addr = server.address();
        this.port = typeof addr === 'object' && addr ? addr.port : port;
        this.server = server;
        resolve();
      });
    });
  }

  /** One connection too many: its first request is answered 453 Not Enough Bandwidth, then it is closed. */
  private refuse(socket: Socket): void {
    this.refused++;
    socket.on('error', () => undefined);
    if (this.refusing >= this.maxClients) return void socket.destroy(); // a flood: no answer
    this.refusing++;
    let answered = false;
    const done = () => {
      if (answered) return;
      answered = true;
      this.refusing--;
      clearTimeout(timer);
    };
    const timer = setTimeout(() => {
      done();
      socket.destroy();
    }, 2000);
    socket.once('close', done);
    socket.once('data', (d: Buffer) => {
      const cseq = /\r\nCSeq:[ \t]*(\d{1,10})/i.exec(d.toString('latin1', 0, Math.min(d.length, 4096)))?.[1] ?? '0';
      socket.end(`RTSP/1.0 453 Not Enough Bandwidth\r\nCSeq: ${cseq}\r\nServer: ${SERVER}\r\nConnection: close\r\n\r\n`);
    });
  }

  /** The stream served at `/<name>` (made on first use). */
  mount(name: string): RtspStream {
    let s = this.streams.get(name);
    if (!s) {
      s = new RtspStream(name);
      this.streams.set(name, s);
    }
    return s;
  }

  unmount(name: string): void {
    const s = this.streams.get(name);
    if (!s) return;
    s.closeClients();
    this.streams.delete(name);
  }

  streamFor(url: string): RtspStream | undefined {
    return this.streams.get(streamNameOf(url));
  }

  async close(): Promise<void> {
    for (const c of [...this.clients]) c.close();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

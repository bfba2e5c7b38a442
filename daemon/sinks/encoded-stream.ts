import { NAL, nalType, profileLevelId, type AccessUnit } from '../media/h264.js';
import { avccSample, avcDecoderConfig } from '../media/matroska-frames.js';
import type { CopiedPacket, CopiedTrack } from '../media/stream-copy.js';

/** The first SPS and PPS of an avcC record (ISO/IEC 14496-15), or null when it is cut short. */
function avcParameterSets(avcC: Buffer): { sps: Buffer; pps: Buffer } | null {
  if (avcC.length < 8 || (avcC[5] & 0x1f) < 1) return null;
  const spsLen = avcC.readUInt16BE(6);
  const sps = avcC.subarray(8, 8 + spsLen);
  const at = 8 + spsLen;
  if (avcC.length < at + 3 || avcC[at] < 1) return null;
  const ppsLen = avcC.readUInt16BE(at + 1);
  const pps = avcC.subarray(at + 3, at + 3 + ppsLen);
  return sps.length === spsLen && pps.length === ppsLen ? { sps, pps } : null;
}

/**
 * A camera's annotated H.264 stream, encoded once (daemon/sinks/stream-encoder.ts) and fanned out
 * to its consumers: the segment recorder, the RTSP server's stream and the web UI's live view.
 *
 * Consumer API (what the live view uses):
 *
 *   const stream = daemon.encodedStream('front');          // null: no such camera
 *   const sub = stream.subscribe((unit) => { ... }, { queueLimit: 60, name: 'live 1.2.3.4' });
 *   stream.codecConfig();   // null until the first keyframe; then SPS, PPS, avcC, size, fps
 *   sub.unsubscribe();      // at once; idempotent
 *
 * - The first unit a subscriber gets is a keyframe that carries SPS and PPS (late joiners start
 *   decodable); keyframes always carry them (added from the config when the encoder did not).
 * - `unit.pts` is the frame's presentation time in seconds (source time, increasing; also its
 *   decode time: no B-frames). `unit.config` is the CodecConfig the unit belongs to: the same
 *   object until the encoder restarts (a camera restart may change size or rate); a subscriber
 *   that sees a different object must write a new init segment (MP4) / SDP.
 * - Each subscriber has its own bounded queue (`queueLimit` units, default 64). `onUnit` may
 *   return a promise: the next unit comes once it resolves. A full queue drops that
 *   subscriber's units (counted in `dropped`) until the next keyframe that fits: a slow consumer
 *   never stalls the camera, the encoder or the other consumers.
 * - `lossless: true` (the recorder of a file source, where no frame may be lost): instead of
 *   dropping, the stream reports `backlogged` and the encoder stops reading until there is
 *   room, which slows the camera (files apply backpressure; live cameras never use it).
 * - `onUnit` must not throw; if it does, the error is counted (`errors`) and the unit skipped.
 * - `onEnd` is called once when the stream ends (camera removed, daemon stopped).
 * Everything runs on the event loop: units are Buffers that consumers must not modify.
 */

export interface CodecConfig {
  /** h265 only for a camera's copied stream (record.mode raw) */
  codec: 'h264' | 'h265';
  /** RFC 6381 codec string for MSE / the `codecs` MIME parameter, e.g. "avc1.64001f" */
  codecString: string;
  /** the parameter sets, NAL units without start codes */
  sps: Buffer;
  pps: Buffer;
  /** ISO/IEC 14496-15 AVCDecoderConfigurationRecord: the payload of an MP4 `avcC` box */
  avcC: Buffer;
  width: number;
  height: number;
  /** nominal frame rate in frames/s, and as a rational ("30000/1001") */
  fps: number;
  fpsRational: string;
  /** ticks per second of the source's time base (for an MP4 track timescale); 90000 when unknown */
  timescale: number;
  /**
   * a camera's own stream copied (record.mode raw), not our encode: its Matroska codec id and
   * CodecPrivate (avcC / hvcC); its units carry `sample` and may come with B-frames (decode order)
   */
  copied?: { codecId: string; codecPrivate: Buffer };
}

export interface EncodedUnit {
  /** the picture's NAL units without start codes (no access unit delimiter); keyframes start with SPS, PPS */
  nals: Buffer[];
  /** presentation (= decode) time in seconds, source time, increasing within one config */
  pts: number;
  /** an IDR picture: decoding can start here */
  keyframe: boolean;
  config: CodecConfig;
  /** 0, 1, 2 ... per stream (a gap in a subscriber's sequence = units it dropped) */
  seq: number;
  /** a copied unit (config.copied): the picture as the camera sent it, length-prefixed; `nals` is empty */
  sample?: Buffer;
}

/** One unit as an Annex-B byte string (start codes, for `ffmpeg -f h264`). */
export function annexB(unit: EncodedUnit): Buffer {
  const start = Buffer.from([0, 0, 0, 1]);
  return Buffer.concat(unit.nals.flatMap((n) => [start, n]));
}

/** One unit as an MP4/Matroska sample: 4-byte lengths, parameter sets left out (they are in avcC). */
export function avccUnit(unit: EncodedUnit): Buffer {
  if (unit.sample) return unit.sample;
  return avccSample(unit.nals.filter((n) => nalType(n) !== NAL.SPS && nalType(n) !== NAL.PPS));
}

export interface SubscribeOptions {
  /** units waiting for this subscriber at most (default 64) */
  queueLimit?: number;
  /** for logs and stats */
  name?: string;
  /** never drop: hold the encoder back instead (file sources only) */
  lossless?: boolean;
  /** the stream ended (no more units will come) */
  onEnd?: () => void;
}

export interface Subscription {
  unsubscribe(): void;
  readonly name: string;
  /** units handed to onUnit */
  readonly delivered: number;
  /** units this subscriber lost (queue full, or waiting for a keyframe after that) */
  readonly dropped: number;
  /** units waiting now */
  readonly queued: number;
  /** onUnit threw or rejected */
  readonly errors: number;
}

export const DEFAULT_QUEUE_LIMIT = 64;

type OnUnit = (unit: EncodedUnit) => void | Promise<void>;

class Subscriber implements Subscription {
  delivered = 0;
  dropped = 0;
  errors = 0;
  /** waiting for a keyframe: at the start, and after a drop */
  resync = true;
  active = true;
  private readonly queue: EncodedUnit[] = [];
  private busy = false;
  readonly limit: number;
  readonly name: string;
  readonly lossless: boolean;
  private roomWaiters: Array<() => void> = [];

  constructor(
    private readonly onUnit: OnUnit,
    opts: SubscribeOptions,
    private readonly remove: (s: Subscriber) => void,
    readonly onEnd: (() => void) | undefined,
  ) {
    this.limit = Math.max(1, opts.queueLimit ?? DEFAULT_QUEUE_LIMIT);
    this.name = opts.name ?? 'consumer';
    this.lossless = opts.lossless ?? false;
  }

  get queued(): number {
    return this.queue.length;
  }

  get full(): boolean {
    return this.queue.length >= this.limit;
  }

  offer(unit: EncodedUnit): void {
    if (!this.active) return;
    if (this.resync) {
      if (!unit.keyframe || this.full) {
        this.dropped++;
        return;
      }
      this.resync = false;
    } else if (this.full && !this.lossless) {
      this.dropped++;
      this.resync = true;
      return;
    }
    this.queue.push(unit);
    if (!this.busy) void this.pump();
  }

  /** Resolves once this subscriber's queue is below its limit (or it is gone). */
  whenRoom(): Promise<void> {
    if (!this.full || !this.active) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  private wake(): void {
    if (this.full && this.active) return;
    const w = this.roomWaiters;
    this.roomWaiters = [];
    for (const r of w) r();
  }

  private async pump(): Promise<void> {
    this.busy = true;
    try {
      while (this.active && this.queue.length > 0) {
        const unit = this.queue.shift() as EncodedUnit;
        this.wake();
        this.delivered++;
        try {
          const r = this.onUnit(unit);
          if (r && typeof r.then === 'function') await r;
        } catch {
          this.errors++;
        }
      }
    } finally {
      this.busy = false;
      this.wake();
    }
  }

  unsubscribe(): void {
    if (!this.active) return;
    this.active = false;
    this.queue.length = 0;
    this.wake();
    this.remove(this);
  }
}

/** The video format the encoder was started with (the config adds the parameter sets). */
export interface StreamFormat {
  width: number;
  height: number;
  fps: number;
  fpsRational: string;
  timescale?: number | null;
}

export class EncodedStream {
  private readonly subs = new Set<Subscriber>();
  private config: CodecConfig | null = null;
  private format: StreamFormat | null = null;
  private seq = 0;
  private ended = false;
  /** units published */
  published = 0;
  /** units dropped by subscribers that have left */
  private retiredDrops = 0;
  private configWaiters: Array<() => void> = [];

  constructor(readonly name: string) {}

  /** Subscribes to the units from the next keyframe on; see the module comment. */
  subscribe(onUnit: OnUnit, opts: SubscribeOptions = {}): Subscription {
    const sub = new Subscriber(
      onUnit,
      opts,
      (s) => {
        if (this.subs.delete(s)) this.retiredDrops += s.dropped;
      },
      opts.onEnd,
    );
    if (this.ended) {
      sub.active = false;
      queueMicrotask(() => opts.onEnd?.());
      return sub;
    }
    this.subs.add(sub);
    return sub;
  }

  /** SPS, PPS, avcC, size and rate of the stream now; null before the encoder's first keyframe. */
  codecConfig(): CodecConfig | null {
    return this.config;
  }

  /** Resolves with the codec config once known, or null after `timeoutMs` / when the stream ends. */
  waitForConfig(timeoutMs: number): Promise<CodecConfig | null> {
    if (this.config || this.ended) return Promise.resolve(this.config);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.configWaiters = this.configWaiters.filter((w) => w !== done);
        resolve(this.config);
      };
      const timer = setTimeout(done, timeoutMs);
      timer.unref?.();
      this.configWaiters.push(done);
    });
  }

  /** Subscribers now. */
  get subscribers(): number {
    return this.subs.size;
  }

  /** Units every subscriber so far dropped (a slow consumer's own losses), for /metrics. */
  get droppedTotal(): number {
    let n = this.retiredDrops;
    for (const s of this.subs) n += s.dropped;
    return n;
  }

  /** Figures per subscriber, for stats. */
  subscriptions(): Subscription[] {
    return [...this.subs];
  }

  /** A lossless subscriber's queue is full: the encoder should stop reading until `whenRoom()`. */
  get backlogged(): boolean {
    for (const s of this.subs) if (s.lossless && s.full) return true;
    return false;
  }

  whenRoom(): Promise<void> {
    return Promise.all([...this.subs].filter((s) => s.lossless).map((s) => s.whenRoom())).then(() => undefined);
  }

  // ---- the producer's side (the camera's encoder) ----

  /** A new encoder starts: its units get a new config once its parameter sets are seen. */
  start(format: StreamFormat): void {
    this.format = format;
    this.config = null;
  }

  /** One access unit from the encoder, `pts` in seconds. Units before the first SPS/PPS are skipped. */
  publish(au: AccessUnit, pts: number): void {
    if (this.ended || !this.format) return;
    let sps: Buffer | null = null;
    let pps: Buffer | null = null;
    for (const n of au.nals) {
      const t = nalType(n);
      if (t === NAL.SPS) sps = n;
      else if (t === NAL.PPS) pps = n;
    }
    if (sps && pps && (!this.config || !sps.equals(this.config.sps) || !pps.equals(this.config.pps))) {
      const f = this.format;
      this.config = {
        codec: 'h264',
        codecString: `avc1.${profileLevelId(sps)}`,
        sps,
        pps,
        avcC: avcDecoderConfig(sps, pps),
        width: f.width,
        height: f.height,
        fps: f.fps,
        fpsRational: f.fpsRational,
        timescale: f.timescale ?? 90000,
      };
      const w = this.configWaiters;
      this.configWaiters = [];
      for (const r of w) r();
    }
    const config = this.config;
    if (!config) return;
    let nals = au.nals;
    if (au.keyframe && !sps) nals = [config.sps, config.pps, ...nals.filter((n) => nalType(n) !== NAL.PPS)];
    const unit: EncodedUnit = { nals, pts, keyframe: au.keyframe, config, seq: this.seq++ };
    this.published++;
    for (const s of [...this.subs]) s.offer(unit);
  }

  /**
   * One packet of a camera's own stream (record.mode raw: media/stream-copy.ts), `track` its codec:
   * a new config object whenever the codec or its parameters change (the recorder starts a new
   * segment then). Times may go back and forth (B-frames); subscribers start at a keyframe as usual.
   */
  publishCopied(track: CopiedTrack, packet: Omit<CopiedPacket, 'track'>, format: Pick<StreamFormat, 'fps' | 'fpsRational'>): void {
    if (this.ended) return;
    const c = this.config;
    if (!c?.copied || c.copied.codecId !== track.codecId || !c.copied.codecPrivate.equals(track.codecPrivate) || c.width !== track.width) {
      const avc = track.codec === 'h264' ? avcParameterSets(track.codecPrivate) : null;
      this.config = {
        codec: track.codec,
        codecString: track.codec === 'h264' && avc ? `avc1.${profileLevelId(avc.sps)}` : 'hvc1',
        sps: avc?.sps ?? Buffer.alloc(0),
        pps: avc?.pps ?? Buffer.alloc(0),
        avcC: track.codec === 'h264' ? track.codecPrivate : Buffer.alloc(0),
        width: track.width,
        height: track.height,
        fps: format.fps,
        fpsRational: format.fpsRational,
        timescale: 90000,
        copied: { codecId: track.codecId, codecPrivate: track.codecPrivate },
      };
      for (const w of this.configWaiters.splice(0)) w();
    }
    const config = this.config as CodecConfig;
    const unit: EncodedUnit = { nals: [], sample: packet.data, pts: packet.pts, keyframe: packet.keyframe, config, seq: this.seq++ };
    this.published++;
    for (const s of [...this.subs]) s.offer(unit);
  }

  /** No more units: every subscriber's onEnd is called and the subscriptions are dropped. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const w of this.configWaiters.splice(0)) w();
    for (const s of [...this.subs]) {
      s.unsubscribe();
      try {
        s.onEnd?.();
      } catch {
        /* a consumer's problem */
      }
    }
  }

  get isEnded(): boolean {
    return this.ended;
  }
}

import type { Readable } from 'node:stream';
import { MatroskaReader, type MatroskaTrack } from './matroska-reader.js';

/**
 * The camera's own coded stream beside the decoded frames (record.mode raw): the decoding process
 * (ffmpeg) also writes its input's video packets, not decoded, as a live Matroska stream to a
 * second pipe (fd 4); this reads it and hands each packet on with its time on the source's
 * timeline, the one the frames' `streamTime` uses, so that detections of a frame can be written
 * beside the packet that holds it.
 *
 * Times: per connection (each process the source starts), packet times are counted from the first
 * keyframe and put after `base`, which the source picks when it starts the process (a file's loop
 * offset; a live camera's time since the source opened, never before the last packet). The source
 * counts its decoded frames' times (ffmpeg's showinfo) from its first frame in the same way: the
 * first keyframe is the first frame a decoder puts out, so a frame and its packet get the same
 * time, whatever offset the muxer or camera put on them.
 */

/** ffmpeg's output arguments for the copy: the first video stream as it came, Matroska on fd 4, flushed at least every 100 ms. */
export const COPY_OUTPUT_ARGS = ['-map', '0:v:0', '-c:v', 'copy', '-f', 'matroska', '-cluster_time_limit', '100', '-flush_packets', '1', 'pipe:4'] as const;

/** The copy's codec, as the Matroska track named it. */
export interface CopiedTrack {
  codec: 'h264' | 'h265';
  /** Matroska codec id (V_MPEG4/ISO/AVC, V_MPEGH/ISO/HEVC) */
  codecId: string;
  /** avcC / hvcC */
  codecPrivate: Buffer;
  width: number;
  height: number;
}

export interface CopiedPacket {
  /** the coded picture as the camera sent it (length-prefixed NAL units) */
  data: Buffer;
  /** presentation time, seconds on the source's timeline (B-frames: not rising in this, decode, order) */
  pts: number;
  keyframe: boolean;
  /** its connection's codec (the same object for the whole connection) */
  track: CopiedTrack;
}

/**
 * Who takes the copy (the camera's raw recorder; it may come after the first packets, which are
 * then not taken). `packet` may return a promise: reading waits for it (files).
 */
export interface CopyListener {
  packet(packet: CopiedPacket): void | Promise<void>;
  /** a codec the recorder cannot store: said once per source */
  unsupported(why: string): void;
}

const CODECS: Record<string, CopiedTrack['codec']> = { 'V_MPEG4/ISO/AVC': 'h264', 'V_MPEGH/ISO/HEVC': 'h265' };

export class StreamCopy {
  private current: CopyListener | null = null;
  /** the last packet's time (a new connection's base never goes before it) */
  private lastPts = Number.NEGATIVE_INFINITY;
  /** why the copy cannot be recorded (a codec segments cannot store, a stream this reader cannot follow) */
  private refusal: string | null = null;
  private told = false;

  /** Who takes the packets; one that comes after a refusal (a live camera's sink opens at its first frame) still hears of it. */
  get listener(): CopyListener | null {
    return this.current;
  }

  set listener(l: CopyListener | null) {
    this.current = l;
    this.tell();
  }

  /** The time a new connection's first packet gets: `wanted`, or just after the last packet when that is later. */
  baseFor(wanted: number, frameSeconds: number): number {
    return Math.max(wanted, this.lastPts + frameSeconds);
  }

  /** Reads one connection's copy pipe until it ends; packets go to the listener from the first keyframe on. */
  connect(pipe: Readable, base: number): Promise<void> {
    let t0: number | null = null;
    let track: CopiedTrack | null = null;
    let refused = false;
    const reader = new MatroskaReader({
      onTrack: (t: MatroskaTrack) => {
        const codec = CODECS[t.codecId];
        if (!codec) {
          refused = true;
          this.refuse(`the camera sends ${t.codecId.replace(/^V_/, '')}, which segments cannot store by stream copy (H.264 and H.265 can)`);
          return;
        }
        track = { codec, codecId: t.codecId, codecPrivate: t.codecPrivate, width: t.width, height: t.height };
      },
      onBlock: (b) => {
        if (refused || !track) return;
        if (t0 === null) {
          if (!b.keyframe) return; // nothing decodes before the first keyframe
          t0 = b.time;
        }
        const pts = Number((base + b.time - t0).toFixed(6));
        this.lastPts = Math.max(this.lastPts, pts);
        const r = this.current?.packet({ data: b.data, pts, keyframe: b.keyframe, track });
        if (r) waits.push(r);
      },
    });
    let waits: Array<Promise<void>> = [];
    return new Promise<void>((resolve) => {
      pipe.on('data', (chunk: Buffer) => {
        if (refused) return;
        try {
          reader.push(chunk);
        } catch (err) {
          refused = true;
          this.refuse(`the camera's stream copy cannot be read (${(err as Error).message})`);
          return;
        }
        if (waits.length) {
          const all = Promise.all(waits);
          waits = [];
          pipe.pause();
          void all.then(
            () => pipe.resume(),
            () => pipe.resume(),
          );
        }
      });
      pipe.on('error', () => resolve());
      pipe.on('close', () => resolve());
      pipe.on('end', () => resolve());
    });
  }

  private refuse(why: string): void {
    this.refusal ??= why;
    this.tell();
  }

  /** The refusal goes to the listener once per source. */
  private tell(): void {
    if (this.told || !this.current || this.refusal === null) return;
    this.told = true;
    this.current.unsupported(this.refusal);
  }
}

/** Keeps a connection's frame times apart from each other: the first decoded frame's own time is the connection's base. */
export class FrameClock {
  private first: number | null = null;
  constructor(private readonly base: number) {}
  /** The stream time of a decoded frame whose own (showinfo) time is `seconds`. */
  at(seconds: number): number {
    this.first ??= seconds;
    return Number((this.base + seconds - this.first).toFixed(6));
  }
}

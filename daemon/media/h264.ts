/**
 * H.264 Annex-B byte streams (what `ffmpeg -f h264` writes): split into NAL units and group them
 * into access units (one picture each), the unit the RTSP server sends with one RTP timestamp.
 */

export const NAL = { SLICE: 1, IDR: 5, SEI: 6, SPS: 7, PPS: 8, AUD: 9 } as const;

export const nalType = (nal: Buffer): number => nal[0] & 0x1f;

const isVcl = (t: number) => t >= 1 && t <= 5;

/** One picture: its NAL units without start codes. */
export interface AccessUnit {
  nals: Buffer[];
  /** contains an IDR slice: a client may start decoding here */
  keyframe: boolean;
}

const START = Buffer.from([0, 0, 1]);

/**
 * Incremental Annex-B parser. Feed it stdout chunks of an encoder; it calls `onAccessUnit` for every
 * complete access unit. A unit is complete when the next one starts (an access unit delimiter, a
 * parameter set or SEI after a slice, or a slice with first_mb_in_slice = 0), so output lags the
 * encoder by one picture; `flush()` emits the last one at the end of the stream.
 */
export class AnnexBParser {
  private pending: Buffer = Buffer.alloc(0);
  private current: Buffer[] = [];
  private currentHasVcl = false;
  /** latest parameter sets seen (for SDP sprop-parameter-sets) */
  sps: Buffer | null = null;
  pps: Buffer | null = null;

  constructor(private readonly onAccessUnit: (au: AccessUnit) => void) {}

  push(chunk: Buffer): void {
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let start = buf.indexOf(START);
    if (start < 0) {
      this.pending = buf;
      return;
    }
    start += 3;
    for (;;) {
      const next = buf.indexOf(START, start);
      if (next < 0) break;
      // a 4-byte start code leaves a trailing zero on the previous unit
      let end = next;
      while (end > start && buf[end - 1] === 0) end--;
      if (end > start) this.nal(Buffer.from(buf.subarray(start, end)));
      start = next + 3;
    }
    // keep the unfinished unit with its start code
    this.pending = Buffer.from(buf.subarray(start - 3));
  }

  /** Ends the stream: the last NAL unit and access unit are emitted. */
  flush(): void {
    if (this.pending.length > 3) {
      let end = this.pending.length;
      while (end > 3 && this.pending[end - 1] === 0) end--;
      if (end > 3) this.nal(Buffer.from(this.pending.subarray(3, end)));
    }
    this.pending = Buffer.alloc(0);
    this.emit();
  }

  private nal(nal: Buffer): void {
    const t = nalType(nal);
    const startsPicture =
      t === NAL.AUD ||
      ((t === NAL.SPS || t === NAL.PPS || t === NAL.SEI) && this.currentHasVcl) ||
      (isVcl(t) && this.currentHasVcl && nal.length > 1 && (nal[1] & 0x80) !== 0);
    if (startsPicture) this.emit();
    if (t === NAL.SPS) this.sps = nal;
    if (t === NAL.PPS) this.pps = nal;
    if (t === NAL.AUD) return; // RTP streams carry no delimiters
    this.current.push(nal);
    if (isVcl(t)) this.currentHasVcl = true;
  }

  private emit(): void {
    if (this.current.length && this.currentHasVcl) {
      this.onAccessUnit({ nals: this.current, keyframe: this.current.some((n) => nalType(n) === NAL.IDR) });
    }
    this.current = [];
    this.currentHasVcl = false;
  }
}

/** RFC 6184 profile-level-id: the three bytes after the SPS NAL header, as hex. */
export function profileLevelId(sps: Buffer): string {
  return sps.subarray(1, 4).toString('hex');
}

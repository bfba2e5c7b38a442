import { MATROSKA_ID as ID } from './matroska-frames.js';

/**
 * Reads a live Matroska stream as it arrives (ffmpeg's or GStreamer's matroskamux on a pipe): the
 * first video track's codec (id, CodecPrivate, size) and then every block of that track with its
 * time and keyframe flag, in the order they were written (decode order). Made for the stream copy
 * of a camera (record.mode raw): the packets are the camera's own, never decoded here.
 *
 * Handles what muxers write to a pipe: a Segment and Clusters of unknown size (a Cluster then ends
 * where the next top-level element starts), SimpleBlocks and BlockGroups (a Block without a
 * ReferenceBlock is a keyframe), and skips every element it does not need. An element larger than
 * `maxElementBytes` (32 MiB by default), laced blocks, or an element of unknown size that may not
 * have one end the stream with an error: the reader never buffers without bound.
 */

export interface MatroskaTrack {
  number: number;
  /** e.g. V_MPEG4/ISO/AVC, V_MPEGH/ISO/HEVC */
  codecId: string;
  /** avcC / hvcC for H.264 / H.265 */
  codecPrivate: Buffer;
  width: number;
  height: number;
  /** ns per frame when the muxer states it */
  defaultDurationNs: number | null;
}

export interface MatroskaBlock {
  /** presentation time in seconds (Cluster Timestamp + the block's offset, times TimestampScale) */
  time: number;
  keyframe: boolean;
  /** the frame as stored: for H.264/H.265 length-prefixed NAL units */
  data: Buffer;
}

export interface MatroskaReaderEvents {
  /** the video track, once its TrackEntry is complete; a new one after a new Segment */
  onTrack(track: MatroskaTrack): void;
  onBlock(block: MatroskaBlock): void;
}

/** Elements whose children are read (everything else is skipped or read whole). */
const MASTERS = new Set<number>([ID.Segment, ID.Cluster, ID.Tracks, ID.TrackEntry, ID.Video, ID.Info, ID.BlockGroup]);
/** Elements that end a Cluster of unknown size when they start. */
const TOP_LEVEL = new Set<number>([ID.Cluster, ID.Cues, ID.Tags, ID.Chapters, ID.Attachments, ID.SeekHead, ID.Info, ID.Tracks, ID.EBML, ID.Segment]);
/** Leaf elements whose payload is read. */
const LEAVES = new Set<number>([
  ID.TimestampScale,
  ID.TrackNumber,
  ID.TrackType,
  ID.CodecID,
  ID.CodecPrivate,
  ID.PixelWidth,
  ID.PixelHeight,
  ID.DefaultDuration,
  ID.Timestamp,
  ID.SimpleBlock,
  ID.Block,
  ID.ReferenceBlock,
]);

interface Open {
  id: number;
  /** absolute end offset, or Infinity for unknown size */
  end: number;
}

interface TrackDraft {
  number: number;
  type: number;
  codecId: string;
  codecPrivate: Buffer;
  width: number;
  height: number;
  defaultDurationNs: number | null;
}

/** An EBML variable-length number at `pos`: its length and value (marker removed), or null when incomplete. */
function vint(buf: Buffer, pos: number, keepMarker: boolean): { len: number; value: number; unknown: boolean } | null {
  if (pos >= buf.length) return null;
  const first = buf[pos];
  if (first === 0) throw new Error('Matroska: invalid element header (a zero byte where a length was expected)');
  let len = 1;
  while (!(first & (0x80 >> (len - 1)))) len++;
  if (pos + len > buf.length) return null;
  let value = keepMarker ? first : first & (0xff >> len);
  let allOnes = (first & (0xff >> len)) === 0xff >> len;
  for (let i = 1; i < len; i++) {
    value = value * 256 + buf[pos + i];
    if (buf[pos + i] !== 0xff) allOnes = false;
  }
  return { len, value, unknown: !keepMarker && allOnes };
}

function readUint(b: Buffer): number {
  let v = 0;
  for (const x of b) v = v * 256 + x;
  return v;
}

export class MatroskaReader {
  private buf = Buffer.alloc(0);
  /** absolute offset of buf[0] */
  private base = 0;
  private readonly stack: Open[] = [];
  private timestampScaleNs = 1_000_000;
  private clusterTime = 0;
  private track: TrackDraft | null = null;
  private videoTrack: number | null = null;
  /** a BlockGroup being read: its Block, and whether a ReferenceBlock said it depends on another frame */
  private group: { block: Buffer | null; referenced: boolean } | null = null;
  private failed: Error | null = null;

  constructor(
    private readonly events: MatroskaReaderEvents,
    private readonly maxElementBytes = 32 * 1024 * 1024,
  ) {}

  /** The error that ended the stream, if one did. */
  get error(): Error | null {
    return this.failed;
  }

  /** Feeds bytes; throws (and keeps throwing) once the stream is not Matroska this reader can follow. */
  push(chunk: Buffer): void {
    if (this.failed) throw this.failed;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    if (this.skip > 0) {
      const eaten = Math.min(this.skip, this.buf.length);
      this.consume(eaten);
      this.skip -= eaten;
      if (this.skip > 0) return;
    }
    try {
      this.parse();
    } catch (err) {
      this.failed = err instanceof Error ? err : new Error(String(err));
      throw this.failed;
    }
  }

  private parse(): void {
    let pos = 0;
    for (;;) {
      const abs = this.base + pos;
      // close the masters that end here
      while (this.stack.length && this.stack[this.stack.length - 1].end <= abs) this.closeMaster(this.stack.pop() as Open);
      const id = vint(this.buf, pos, true);
      if (!id) break;
      if (id.len > 4) throw new Error('Matroska: invalid element id');
      const size = vint(this.buf, pos + id.len, false);
      if (!size) break;
      const head = id.len + size.len;
      // an unknown-size Cluster ends where a top-level element begins
      if (TOP_LEVEL.has(id.value)) {
        while (this.stack.length && this.stack[this.stack.length - 1].end === Infinity && this.stack[this.stack.length - 1].id === ID.Cluster)
          this.closeMaster(this.stack.pop() as Open);
      }
      if (MASTERS.has(id.value)) {
        if (size.unknown && id.value !== ID.Segment && id.value !== ID.Cluster) throw new Error(`Matroska: element 0x${id.value.toString(16)} of unknown size`);
        pos += head;
        this.openMaster(id.value, size.unknown ? Infinity : this.base + pos + size.value);
        continue;
      }
      if (size.unknown) throw new Error(`Matroska: element 0x${id.value.toString(16)} of unknown size`);
      if (size.value > this.maxElementBytes)
        throw new Error(`Matroska: an element of ${size.value} bytes (more than ${this.maxElementBytes}: not a camera stream this reader follows)`);
      if (LEAVES.has(id.value)) {
        if (pos + head + size.value > this.buf.length) break;
        this.leaf(id.value, this.buf.subarray(pos + head, pos + head + size.value));
        pos += head + size.value;
      } else {
        // skipped: drop what is here, remember how much more to skip
        const avail = this.buf.length - pos - head;
        if (avail >= size.value) {
          pos += head + size.value;
        } else {
          this.skip = size.value - avail;
          pos = this.buf.length;
          break;
        }
      }
    }
    this.consume(pos);
  }

  /** bytes of a skipped element still to come (later pushes eat into them) */
  private skip = 0;

  private consume(n: number): void {
    if (n <= 0) return;
    this.base += n;
    this.buf = n >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(n);
  }

  private openMaster(id: number, end: number): void {
    this.stack.push({ id, end });
    if (id === ID.TrackEntry) this.track = { number: 0, type: 0, codecId: '', codecPrivate: Buffer.alloc(0), width: 0, height: 0, defaultDurationNs: null };
    else if (id === ID.BlockGroup) this.group = { block: null, referenced: false };
    else if (id === ID.Segment) this.videoTrack = null;
    else if (id === ID.Cluster) this.clusterTime = 0;
  }

  private closeMaster(open: Open): void {
    if (open.id === ID.TrackEntry && this.track) {
      const t = this.track;
      this.track = null;
      if (t.type === 1 && this.videoTrack === null) {
        this.videoTrack = t.number;
        this.events.onTrack({
          number: t.number,
          codecId: t.codecId,
          codecPrivate: t.codecPrivate,
          width: t.width,
          height: t.height,
          defaultDurationNs: t.defaultDurationNs,
        });
      }
    } else if (open.id === ID.BlockGroup && this.group) {
      const g = this.group;
      this.group = null;
      if (g.block) this.block(g.block, !g.referenced, false);
    }
  }

  private leaf(id: number, data: Buffer): void {
    const t = this.track;
    switch (id) {
      case ID.TimestampScale:
        this.timestampScaleNs = readUint(data) || 1_000_000;
        break;
      case ID.Timestamp:
        this.clusterTime = readUint(data);
        break;
      case ID.TrackNumber:
        if (t) t.number = readUint(data);
        break;
      case ID.TrackType:
        if (t) t.type = readUint(data);
        break;
      case ID.CodecID:
        if (t) t.codecId = data.toString('latin1').replace(/\0+$/, '');
        break;
      case ID.CodecPrivate:
        if (t) t.codecPrivate = Buffer.from(data);
        break;
      case ID.PixelWidth:
        if (t) t.width = readUint(data);
        break;
      case ID.PixelHeight:
        if (t) t.height = readUint(data);
        break;
      case ID.DefaultDuration:
        if (t) t.defaultDurationNs = readUint(data);
        break;
      case ID.SimpleBlock:
        this.block(data, false, true);
        break;
      case ID.Block:
        if (this.group) this.group.block = Buffer.from(data);
        break;
      case ID.ReferenceBlock:
        if (this.group) this.group.referenced = true;
        break;
    }
  }

  /** One Block or SimpleBlock: track number, int16 time offset, flags, the frame. */
  private block(data: Buffer, keyframeFromGroup: boolean, simple: boolean): void {
    const track = vint(data, 0, false);
    if (!track || data.length < track.len + 3) throw new Error('Matroska: a block cut short');
    if (track.value !== this.videoTrack) return;
    const offset = data.readInt16BE(track.len);
    const flags = data[track.len + 2];
    if (flags & 0x06) throw new Error('Matroska: laced video blocks (not what a camera stream copy writes)');
    const keyframe = simple ? (flags & 0x80) !== 0 : keyframeFromGroup;
    const time = ((this.clusterTime + offset) * this.timestampScaleNs) / 1e9;
    this.events.onBlock({ time, keyframe, data: Buffer.from(data.subarray(track.len + 3)) });
  }
}

import { frameBytes, type PixelFormat } from '../core/frame.js';

/**
 * Frames with their own timestamps, as a live Matroska stream for ffmpeg's stdin: raw pictures
 * (for libx264) or H.264 access units (from the Jetson's hardware encoder, for muxing).
 *
 * ffmpeg's `rawvideo` input has one frame rate and no per-frame time: a variable-frame-rate file,
 * or a live camera that skipped or dropped frames, came out re-timed to a constant rate (shorter or
 * longer than the source). Matroska carries every frame's time; ffmpeg reads it from a pipe, and
 * the frame bytes are written as they are after a small per-frame header (no copy).
 *
 * Layout: EBML header, a Segment of unknown size, Info (timestamps in nanoseconds), one video track
 * `V_UNCOMPRESSED` whose ColourSpace names the pixel layout, then one Cluster per frame holding its
 * absolute timestamp and one SimpleBlock. Sizes are written as 8-byte EBML numbers.
 */

/** EBML element ids (the writer here and media/matroska-reader.ts) */
export const MATROSKA_ID = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  DefaultDuration: 0x23e383,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  ColourSpace: 0x2eb524,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Block: 0xa1,
  ReferenceBlock: 0xfb,
  Cues: 0x1c53bb6b,
  Tags: 0x1254c367,
  Chapters: 0x1043a770,
  Attachments: 0x1941a469,
  SeekHead: 0x114d9b74,
} as const;
const ID = MATROSKA_ID;

function idBytes(id: number): Buffer {
  const len = id > 0xffffff ? 4 : id > 0xffff ? 3 : id > 0xff ? 2 : 1;
  const b = Buffer.alloc(len);
  b.writeUIntBE(id, 0, len);
  return b;
}

/** An EBML data size in 8 bytes (marker bit 0x01 in the first byte). */
function size8(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  b[0] |= 0x01;
  return b;
}

/** Unsigned integer payload, shortest big-endian form (at least one byte). */
function uint(v: number | bigint): Buffer {
  let hex = BigInt(v).toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}

function element(id: number, payload: Buffer): Buffer {
  return Buffer.concat([idBytes(id), size8(payload.length), payload]);
}

/** Segment of unknown size: it grows as long as frames come. */
const UNKNOWN_SIZE = Buffer.from('01ffffffffffffff', 'hex');

/** The ColourSpace FourCC ffmpeg maps to each layout ('RGB' 24, 'RGBA', 'I420'). */
const FOURCC: Record<PixelFormat, Buffer> = {
  rgb24: Buffer.from([0x52, 0x47, 0x42, 24]),
  rgba: Buffer.from('RGBA', 'latin1'),
  i420: Buffer.from('I420', 'latin1'),
};

export interface MatroskaVideo {
  width: number;
  height: number;
  /** nominal frame rate (frames/s), written as the track's default frame duration */
  fps: number;
  pixelFormat?: PixelFormat;
  /** an H.264 track (`V_MPEG4/ISO/AVC`) with these parameter sets instead of raw pictures */
  h264?: { sps: Buffer; pps: Buffer };
  /** a coded track as a camera sent it (stream copy): Matroska codec id and CodecPrivate (avcC / hvcC) */
  coded?: { codecId: string; codecPrivate: Buffer };
}

/** ISO/IEC 14496-15 AVCDecoderConfigurationRecord for one SPS and one PPS (4-byte NAL lengths). */
export function avcDecoderConfig(sps: Buffer, pps: Buffer): Buffer {
  const len = (b: Buffer) => Buffer.from([b.length >> 8, b.length & 0xff]);
  return Buffer.concat([Buffer.from([1, sps[1], sps[2], sps[3], 0xff, 0xe1]), len(sps), sps, Buffer.from([1]), len(pps), pps]);
}

/** NAL units as one length-prefixed (AVCC) sample. */
export function avccSample(nals: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const n of nals) {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(n.length);
    parts.push(head, n);
  }
  return Buffer.concat(parts);
}

/** ffmpeg's input arguments for the Matroska that MatroskaFrames writes to its stdin (quiet, no terminal). */
export const MATROSKA_STDIN_INPUT = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-f', 'matroska', '-i', 'pipe:0'] as const;

/** ffmpeg's output arguments for a fragmented MP4 that plays up to its last fragment when cut short. */
export const FRAGMENTED_MP4_OUTPUT = ['-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-f', 'mp4'] as const;

/** ffmpeg's arguments that copy the H.264 of MatroskaFrames on stdin, without re-encoding, into a fragmented MP4 `file`. */
export function copyToFragmentedMp4Args(timescale: number, file: string, extra: readonly string[] = []): string[] {
  return [...MATROSKA_STDIN_INPUT, '-c:v', 'copy', ...extra, '-video_track_timescale', String(timescale), ...FRAGMENTED_MP4_OUTPUT, '-y', file];
}

export class MatroskaFrames {
  /** bytes of one raw picture (raw tracks) */
  readonly frameBytes: number;
  private lastNs = -1n;

  constructor(private readonly video: MatroskaVideo) {
    this.frameBytes = frameBytes(video.pixelFormat, video.width, video.height);
  }

  /** Everything before the first frame. */
  header(): Buffer {
    const v = this.video;
    const coded = v.coded ?? (v.h264 ? { codecId: 'V_MPEG4/ISO/AVC', codecPrivate: avcDecoderConfig(v.h264.sps, v.h264.pps) } : null);
    const ebml = element(
      ID.EBML,
      Buffer.concat([
        element(ID.EBMLVersion, uint(1)),
        element(ID.EBMLReadVersion, uint(1)),
        element(ID.EBMLMaxIDLength, uint(4)),
        element(ID.EBMLMaxSizeLength, uint(8)),
        element(ID.DocType, Buffer.from('matroska', 'latin1')),
        element(ID.DocTypeVersion, uint(4)),
        element(ID.DocTypeReadVersion, uint(2)),
      ]),
    );
    const info = element(ID.Info, element(ID.TimestampScale, uint(1))); // 1 ns
    const track = element(
      ID.TrackEntry,
      Buffer.concat([
        element(ID.TrackNumber, uint(1)),
        element(ID.TrackUID, uint(1)),
        element(ID.TrackType, uint(1)), // video
        ...(v.fps > 0 ? [element(ID.DefaultDuration, uint(Math.round(1e9 / v.fps)))] : []),
        ...(coded
          ? [element(ID.CodecID, Buffer.from(coded.codecId, 'latin1')), element(ID.CodecPrivate, coded.codecPrivate)]
          : [element(ID.CodecID, Buffer.from('V_UNCOMPRESSED', 'latin1'))]),
        element(
          ID.Video,
          Buffer.concat([
            element(ID.PixelWidth, uint(v.width)),
            element(ID.PixelHeight, uint(v.height)),
            ...(coded ? [] : [element(ID.ColourSpace, FOURCC[v.pixelFormat ?? 'rgb24'])]),
          ]),
        ),
      ]),
    );
    return Buffer.concat([ebml, idBytes(ID.Segment), UNKNOWN_SIZE, info, element(ID.Tracks, track)]);
  }

  /**
   * The bytes that go before one frame's data: a Cluster at `seconds` holding one SimpleBlock of
   * `bytes` (default: one raw picture), flagged as a keyframe unless `keyframe` is false. Times
   * must rise; one that does not is moved 1 µs after the last, unless `reordered` (a copied
   * stream with B-frames: its blocks come in decode order, each with its own presentation time).
   */
  frameHeader(seconds: number, bytes = this.frameBytes, keyframe = true, reordered = false): Buffer {
    let ns = BigInt(Math.max(0, Math.round(seconds * 1e9)));
    if (!reordered && ns <= this.lastNs) ns = this.lastNs + 1000n;
    this.lastNs = ns;
    const timestamp = element(ID.Timestamp, uint(ns));
    // SimpleBlock payload: track number 1 (EBML 0x81), relative time 0 (int16), flags: keyframe
    const blockHead = Buffer.from([0x81, 0x00, 0x00, keyframe ? 0x80 : 0x00]);
    const blockSize = blockHead.length + bytes;
    const simpleBlock = Buffer.concat([idBytes(ID.SimpleBlock), size8(blockSize), blockHead]);
    const clusterSize = timestamp.length + simpleBlock.length + bytes;
    return Buffer.concat([idBytes(ID.Cluster), size8(clusterSize), timestamp, simpleBlock]);
  }
}

/**
 * A small fragmented-MP4 (ISO BMFF) muxer for one H.264 video track, what Media Source Extensions
 * take: `initSegment()` (ftyp + moov with the avcC and an empty sample table, mvex) once, then one
 * `mediaFragment()` (moof + mdat) per access unit, so a browser shows each picture as soon as it
 * arrives. No re-encode, no child process: the samples are the encoder's NAL units, 4-byte length
 * prefixed (AVCC). Written from ISO/IEC 14496-12 (boxes) and 14496-15 (avc1/avcC).
 */

export interface VideoTrack {
  /** AVCDecoderConfigurationRecord (the avcC box's payload) */
  avcC: Buffer;
  width: number;
  height: number;
  /** ticks per second of the track's times */
  timescale: number;
}

export interface Sample {
  /** the access unit as AVCC (4-byte lengths) */
  data: Buffer;
  /** decode time in ticks of the track's timescale (= presentation time: no B-frames) */
  decodeTime: number;
  /** duration in ticks */
  duration: number;
  keyframe: boolean;
}

function box(type: string, ...payload: Buffer[]): Buffer {
  const size = 8 + payload.reduce((n, p) => n + p.length, 0);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(size, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, ...payload]);
}

function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  const vf = Buffer.alloc(4);
  vf.writeUInt32BE(((version & 0xff) << 24) | (flags & 0xffffff), 0);
  return box(type, vf, ...payload);
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
}

function u16(...values: number[]): Buffer {
  const b = Buffer.alloc(2 * values.length);
  values.forEach((v, i) => b.writeUInt16BE(v & 0xffff, 2 * i));
  return b;
}

const MATRIX = u32(0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000);
const TRACK_ID = 1;

/** ftyp + moov for the track. */
export function initSegment(track: VideoTrack): Buffer {
  const ftyp = box('ftyp', Buffer.from('isom', 'latin1'), u32(0x200), Buffer.from('isomiso6avc1mp41', 'latin1'));
  const mvhd = fullBox('mvhd', 0, 0, u32(0, 0, 1000, 0), u32(0x00010000), u16(0x0100, 0), u32(0, 0), MATRIX, Buffer.alloc(24), u32(TRACK_ID + 1));
  const tkhd = fullBox(
    'tkhd',
    0,
    3, // enabled, in movie
    u32(0, 0, TRACK_ID, 0, 0),
    u32(0, 0),
    u16(0, 0, 0, 0),
    MATRIX,
    u32(track.width << 16, track.height << 16),
  );
  const mdhd = fullBox('mdhd', 0, 0, u32(0, 0, track.timescale, 0), u16(0x55c4, 0)); // language "und"
  const hdlr = fullBox('hdlr', 0, 0, u32(0), Buffer.from('vide', 'latin1'), u32(0, 0, 0), Buffer.from('VideoHandler\0', 'latin1'));
  const vmhd = fullBox('vmhd', 0, 1, u16(0, 0, 0, 0));
  const dinf = box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1)));
  const compressor = Buffer.alloc(32);
  const avc1 = box(
    'avc1',
    Buffer.alloc(6), // reserved
    u16(1), // data_reference_index
    u16(0, 0), // pre_defined, reserved
    u32(0, 0, 0), // pre_defined
    u16(track.width, track.height),
    u32(0x00480000, 0x00480000, 0), // 72 dpi, reserved
    u16(1), // frame_count
    compressor,
    u16(0x0018, 0xffff), // depth, pre_defined -1
    box('avcC', track.avcC),
  );
  const stbl = box(
    'stbl',
    fullBox('stsd', 0, 0, u32(1), avc1),
    fullBox('stts', 0, 0, u32(0)),
    fullBox('stsc', 0, 0, u32(0)),
    fullBox('stsz', 0, 0, u32(0, 0)),
    fullBox('stco', 0, 0, u32(0)),
  );
  const trak = box('trak', tkhd, box('mdia', mdhd, hdlr, box('minf', vmhd, dinf, stbl)));
  const mvex = box('mvex', fullBox('trex', 0, 0, u32(TRACK_ID, 1, 0, 0, 0)));
  return Buffer.concat([ftyp, box('moov', mvhd, trak, mvex)]);
}

/** sample_flags: a sync sample depends on nothing; others depend on earlier ones and are not sync */
const KEY_FLAGS = 0x02000000;
const DELTA_FLAGS = 0x01010000;

/** moof + mdat holding one sample; `sequence` counts fragments from 1. */
export function mediaFragment(sequence: number, sample: Sample): Buffer {
  const tfdt = Buffer.alloc(8);
  tfdt.writeBigUInt64BE(BigInt(Math.max(0, Math.round(sample.decodeTime))));
  const trunBody = (dataOffset: number) =>
    fullBox(
      'trun',
      0,
      0x000001 | 0x000100 | 0x000200 | 0x000400,
      u32(1, dataOffset, Math.max(1, Math.round(sample.duration)), sample.data.length, sample.keyframe ? KEY_FLAGS : DELTA_FLAGS),
    );
  const build = (dataOffset: number) =>
    box(
      'moof',
      fullBox('mfhd', 0, 0, u32(sequence)),
      box('traf', fullBox('tfhd', 0, 0x020000, u32(TRACK_ID)), fullBox('tfdt', 1, 0, tfdt), trunBody(dataOffset)),
    );
  const size = build(0).length;
  return Buffer.concat([build(size + 8), box('mdat', sample.data)]);
}

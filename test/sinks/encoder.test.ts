import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gstFraction, h264StreamEncoder, hardwareEncoder, spawnStreamEncoder } from '../../daemon/media/encoder.js';
import { fakePlatform } from '../../daemon/media/platform.js';
import { Mp4Writer } from '../../daemon/sinks/mp4-writer.js';
import { probeFrames, tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('encoder');
afterAll(cleanup);

const nano = fakePlatform({ jetson: true, gstreamer: true, elements: ['nvv4l2h264enc', 'omxh264enc', 'nvvidconv', 'nvv4l2decoder'] });
const oldJetson = fakePlatform({ jetson: true, gstreamer: true, elements: ['omxh264enc', 'nvvidconv'] });
const pc = fakePlatform({ jetson: false, gstreamer: true, elements: ['x264enc'] });

/** The pipeline elements of a gst-launch argument list (split at `!`). */
function elements(args: string[]): string[] {
  return args
    .filter((a) => !a.startsWith('-'))
    .join(' ')
    .split(' ! ')
    .map((e) => e.trim());
}

describe('H.264 encoder choice', () => {
  it('uses nvv4l2h264enc on a Jetson: RGB → I420 → nvvidconv into NVMM NV12 → encoder → byte-stream to stdout', () => {
    const c = h264StreamEncoder({ width: 1280, height: 720, fps: '30000/1001' }, nano);
    expect(c.command).toBe('gst-launch-1.0');
    expect(c.encoder).toBe('nvv4l2h264enc');
    expect(elements(c.args)).toEqual([
      'fdsrc fd=0 blocksize=2764800',
      'rawvideoparse width=1280 height=720 format=rgb framerate=30000/1001',
      'videoconvert',
      'video/x-raw,format=I420',
      'nvvidconv',
      'video/x-raw(memory:NVMM),format=NV12',
      'nvv4l2h264enc insert-sps-pps=true insert-aud=true iframeinterval=30 idrinterval=30 maxperf-enable=true',
      'video/x-h264,stream-format=byte-stream,alignment=au',
      'fdsink fd=3 sync=false',
    ]);
  });

  it('tells rawvideoparse the packed RGB stride when GStreamer would pad the rows (width * 3 not a multiple of 4)', () => {
    expect(elements(h264StreamEncoder({ width: 854, height: 480, fps: 25 }, nano).args)[1]).toBe(
      'rawvideoparse width=854 height=480 format=rgb plane-strides=<2562> framerate=25/1',
    );
    expect(elements(h264StreamEncoder({ width: 1280, height: 720, fps: 25 }, nano).args)[1]).toBe(
      'rawvideoparse width=1280 height=720 format=rgb framerate=25/1',
    );
    expect(elements(h264StreamEncoder({ width: 854, height: 480, fps: 25, pixelFormat: 'rgba' }, nano).args)[1]).toBe(
      'rawvideoparse width=854 height=480 format=rgba framerate=25/1',
    );
  });

  it("takes packed I420 (the ffmpeg sources' frames) straight into nvvidconv, each plane's stride and start stated", () => {
    const c = h264StreamEncoder({ width: 854, height: 481, fps: 25, pixelFormat: 'i420' }, nano);
    // chroma 427 x 241: 854*481 = 410774, + 427*241 = 102907
    expect(elements(c.args).slice(0, 3)).toEqual([
      `fdsrc fd=0 blocksize=${854 * 481 + 2 * 427 * 241}`,
      'rawvideoparse width=854 height=481 format=i420 plane-strides=<854,427,427> plane-offsets=<0,410774,513681> framerate=25/1',
      'nvvidconv',
    ]);
  });

  it("reads the GStreamer encoder's stream from fd 3: what NVIDIA's libraries print on stdout stays out of it", async () => {
    expect(h264StreamEncoder({ width: 64, height: 48, fps: 25 }, nano).outputFd).toBe(3);
    // a stand-in that prints to stdout (as "Opening in BLOCKING MODE") and copies its input to fd 3
    const { proc, stdin, output } = spawnStreamEncoder({
      command: 'sh',
      args: ['-c', 'echo "Opening in BLOCKING MODE"; cat >&3'],
      encoder: 'nvv4l2h264enc',
      outputFd: 3,
    });
    const chunks: Buffer[] = [];
    output.on('data', (d: Buffer) => chunks.push(d));
    const exited = new Promise((r) => proc.on('close', r));
    stdin.end(Buffer.from([0, 0, 0, 1, 9, 240]));
    await exited;
    expect(Buffer.concat(chunks)).toEqual(Buffer.from([0, 0, 0, 1, 9, 240]));
  });

  it('takes the RGBA frames of the Jetson sources straight into nvvidconv (no CPU conversion)', () => {
    const c = h264StreamEncoder({ width: 1280, height: 720, fps: 30, pixelFormat: 'rgba' }, nano);
    expect(elements(c.args).slice(0, 4)).toEqual([
      'fdsrc fd=0 blocksize=3686400',
      'rawvideoparse width=1280 height=720 format=rgba framerate=30/1',
      'nvvidconv',
      'video/x-raw(memory:NVMM),format=NV12',
    ]);
    const x = h264StreamEncoder({ width: 640, height: 480, fps: 15, pixelFormat: 'rgba' }, pc);
    expect(x.args.slice(x.args.indexOf('-pix_fmt'), x.args.indexOf('-pix_fmt') + 2)).toEqual(['-pix_fmt', 'rgba']);
  });

  it('falls back to omxh264enc on JetPacks without nvv4l2h264enc, and libx264 off a Jetson', () => {
    expect(hardwareEncoder(oldJetson)).toBe('omxh264enc');
    expect(elements(h264StreamEncoder({ width: 640, height: 480, fps: 15 }, oldJetson).args)).toContain(
      'omxh264enc insert-sps-pps=true insert-aud=true iframeinterval=15',
    );
    expect(hardwareEncoder(pc)).toBeNull();
    const x = h264StreamEncoder({ width: 640, height: 480, fps: 15 }, pc);
    expect(x.encoder).toBe('libx264');
    expect(x.args).toEqual(expect.arrayContaining(['-c:v', 'libx264', '-bf', '0', '-g', '15', '-f', 'h264', 'pipe:1']));
  });

  it('writes GStreamer fractions', () => {
    expect([gstFraction('30000/1001'), gstFraction(25), gstFraction(12.5)]).toEqual(['30000/1001', '25/1', '12500/1000']);
  });
});

describe('Mp4Writer through a stream encoder (the Jetson path, here with libx264 as the stream encoder)', () => {
  it('encodes RGBA frames to the same picture as RGB24 frames (both encoders)', async () => {
    for (const encoder of ['x264', 'stream'] as const) {
      const files = { rgb: join(dir, `rgb-${encoder}.mp4`), rgba: join(dir, `rgba-${encoder}.mp4`) };
      const a = new Mp4Writer(files.rgb, { width: 64, height: 48, fps: 10, encoder });
      const b = new Mp4Writer(files.rgba, { width: 64, height: 48, fps: 10, encoder, pixelFormat: 'rgba' });
      for (let k = 0; k < 12; k++) {
        const rgb = Buffer.alloc(64 * 48 * 3);
        const rgba = Buffer.alloc(64 * 48 * 4, 255);
        for (let p = 0; p < 64 * 48; p++) {
          const v = [(p * 3 + k * 20) % 256, (p * 5) % 256, (k * 40) % 256];
          rgb.set(v, p * 3);
          rgba.set(v, p * 4);
        }
        await a.write(rgb);
        await b.write(rgba);
      }
      await a.finish();
      await b.finish();
      const decoded = (f: string) => execFileSync('ffmpeg', ['-v', 'error', '-i', f, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
      expect(probeFrames(files.rgba)).toMatchObject({ count: 12, width: 64, height: 48 });
      expect(decoded(files.rgba).equals(decoded(files.rgb)), encoder).toBe(true);
    }
  });

  it("muxes the encoder's byte stream into a fragmented MP4 with every frame at the given rate", async () => {
    const file = join(dir, 'stream.mp4');
    const w = new Mp4Writer(file, { width: 96, height: 64, fps: 10, encoder: 'stream' });
    for (let k = 0; k < 25; k++) await w.write(Buffer.alloc(96 * 64 * 3, k * 9));
    await w.finish();
    const p = probeFrames(file);
    expect(p).toMatchObject({ count: 25, width: 96, height: 64 });
    p.pts.forEach((t, i) => expect(t).toBeCloseTo(i / 10, 3));
  });
});

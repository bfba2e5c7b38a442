import { describe, expect, it } from 'vitest';
import { detectJetson, fakePlatform } from '../../daemon/media/platform.js';
import { openSource, parseSource } from '../../daemon/sources/open-source.js';
import {
  chooseBackend,
  ffmpegPlan,
  gstPlan,
  parseStreamInfo,
  rtspCredentials,
  streamInfoReader,
  type LiveSourceSettings,
} from '../../daemon/sources/source-plans.js';
import { tempDir } from '../support/videos.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const nano = fakePlatform({
  jetson: true,
  gstreamer: true,
  elements: ['nvarguscamerasrc', 'nvv4l2decoder', 'nvvidconv', 'nvv4l2h264enc', 'rtspsrc', 'h264parse', 'h265parse', 'qtdemux'],
});
const pc = fakePlatform({ jetson: false, gstreamer: true, elements: ['rtspsrc', 'avdec_h264'] });
const bare = fakePlatform({ jetson: false, gstreamer: false });

const settings = (s: Partial<LiveSourceSettings>): LiveSourceSettings => ({
  kind: 'rtsp',
  target: 'rtsp://cam/stream',
  width: null,
  height: null,
  fps: null,
  rtspTransport: 'tcp',
  decoder: 'auto',
  ...s,
});
const none: Parameters<typeof gstPlan>[1] = { width: null, height: null, fps: null };
const elements = (s: LiveSourceSettings, shape = none, plat = nano) => gstPlan(s, shape, plat).describe.split(' ! ');

describe('Jetson GStreamer pipelines', () => {
  it('CSI (IMX219 on a Nano): nvarguscamerasrc in NVMM → nvvidconv → RGBA on fd 3, no CPU conversion', () => {
    expect(elements(settings({ kind: 'csi', target: '0' }))).toEqual([
      'nvarguscamerasrc sensor-id=0',
      'video/x-raw(memory:NVMM),width=1280,height=720,framerate=30/1,format=NV12',
      'nvvidconv flip-method=0',
      'video/x-raw,format=RGBA',
      'fdsink name=out fd=3 sync=false',
    ]);
    expect(gstPlan(settings({ kind: 'csi', target: '0' }), none, nano).pixelFormat).toBe('rgba');
  });

  it('CSI with a configured mode: the sensor mode and the output size', () => {
    const e = elements(settings({ kind: 'csi', target: '1', width: 1920, height: 1080, fps: 30 }), { width: 960, height: 540, fps: null });
    expect(e[0]).toBe('nvarguscamerasrc sensor-id=1');
    expect(e[1]).toBe('video/x-raw(memory:NVMM),width=1920,height=1080,framerate=30/1,format=NV12');
    expect(e[3]).toBe('video/x-raw,format=RGBA,width=960,height=540');
  });

  it('RTSP on a Jetson: the codec ffprobe found picks the depayloader; a codec the hardware does not take goes to ffmpeg', () => {
    expect(elements(settings({ codec: 'hevc' })).slice(1, 4)).toEqual(['rtph265depay', 'h265parse', 'nvv4l2decoder']);
    expect(elements(settings({ codec: 'h264' })).slice(1, 4)).toEqual(['rtph264depay', 'h264parse', 'nvv4l2decoder']);
    expect(chooseBackend(settings({ codec: 'hevc' }), nano)).toBe('gstreamer');
    expect(chooseBackend(settings({ codec: 'mjpeg' }), nano)).toBe('ffmpeg');
    expect(chooseBackend(settings({}), nano)).toBe('gstreamer'); // not known yet: H.264, the common case
  });

  it('RTSP on a Jetson with a copy (record.mode raw): a tee after the parser, the hardware decoder on one branch, the stream as it came to Matroska on fd 4 on the other', () => {
    for (const [codec, parse, caps] of [
      ['h264', 'h264parse', 'video/x-h264,stream-format=avc,alignment=au'],
      ['hevc', 'h265parse', 'video/x-h265,stream-format=hvc1,alignment=au'],
    ] as const) {
      const plan = gstPlan(settings({ codec }), none, nano, true);
      expect(plan.copyFd).toBe(4);
      const words = plan.args.join(' ');
      expect(words).toContain(
        `${parse} ! tee name=copy ! queue ! nvv4l2decoder ! nvvidconv ! video/x-raw,format=RGBA ! identity name=stamp silent=false ! fdsink name=out fd=3 sync=false copy. ! queue ! ${parse} ! ${caps} ! matroskamux streamable=true ! fdsink fd=4 sync=false`,
      );
      // the elements are whole words for gst-launch
      expect(plan.args).toContain('copy.');
    }
    // nothing to copy from a CSI camera; without a copy the pipeline is as before
    expect(gstPlan(settings({ kind: 'csi', target: '0' }), none, nano, true).copyFd).toBeUndefined();
    expect(gstPlan(settings({ codec: 'h264' }), none, nano).args.join(' ')).not.toContain('tee');
  });

  it('RTSP read by ffmpeg with a copy: showinfo and passthrough on the frames, the first video stream copied as Matroska to fd 4', () => {
    const plan = ffmpegPlan(settings({}), none, ['-fps_mode', 'passthrough']);
    expect(plan.copyFd).toBe(4);
    const words = plan.args.join(' ');
    expect(words).toMatch(/-vf showinfo=checksum=0 -fps_mode passthrough -f rawvideo -pix_fmt yuv420p pipe:1 -map 0:v:0 -c:v copy -f matroska .* pipe:4$/);
    expect(ffmpegPlan(settings({}), none).args.join(' ')).not.toMatch(/showinfo|pipe:4/);
  });

  it('RTSP on a Jetson: rtspsrc over TCP → depay → parse → nvv4l2decoder → nvvidconv → RGBA', () => {
    expect(elements(settings({ target: 'rtsp://admin:hunter2@192.0.2.10/s1' }))).toEqual([
      'rtspsrc location="rtsp://192.0.2.10/s1" user-id="admin" user-pw=*** protocols=tcp latency=200',
      'rtph264depay',
      'h264parse',
      'nvv4l2decoder',
      'nvvidconv',
      'video/x-raw,format=RGBA',
      'fdsink name=out fd=3 sync=false',
    ]);
    expect(elements(settings({ fps: 10 }), { width: null, height: null, fps: 10 }).slice(-3)).toEqual([
      'videorate',
      'video/x-raw,format=RGBA,framerate=10/1',
      'fdsink name=out fd=3 sync=false',
    ]);
    // the credentials go to rtspsrc's user-id/user-pw, decoded, not in the URL; only the description is masked
    const plan = gstPlan(settings({ target: 'rtsp://admin:hunter2@192.0.2.10/s1', rtspTransport: 'udp' }), none, nano);
    expect(plan.args).toContain('location="rtsp://192.0.2.10/s1"');
    expect(plan.args).toContain('user-id="admin"');
    expect(plan.args).toContain('user-pw="hunter2"');
    expect(plan.describe).not.toContain('hunter2');
    const odd = gstPlan(settings({ target: 'rtsp://ad%40min:p@ss:w/rd%25@192.0.2.10:554/s1?x=1' }), none, nano);
    expect(odd.args).toContain('location="rtsp://192.0.2.10:554/s1?x=1"');
    expect(odd.args).toContain('user-id="ad@min"');
    expect(odd.args).toContain('user-pw="p@ss:w/rd%"');
    expect(rtspCredentials('rtsp://cam/s')).toEqual({ location: 'rtsp://cam/s', user: null, password: null });
    expect(rtspCredentials('rtsp://bob@cam/s')).toEqual({ location: 'rtsp://cam/s', user: 'bob', password: null });
    // a quote cannot be passed through gst-launch: left in the URL as it was
    expect(rtspCredentials('rtsp://a:b"c@cam/s').location).toBe('rtsp://a:b"c@cam/s');
    expect(plan.args).toContain('protocols=udp');
    // no -e for rtspsrc: gst-launch 1.14 with -e waits for an EOS after an error, which rtspsrc never sends
    expect(plan.args[0]).toBe('-v');
    expect(plan.args).not.toContain('-e');
    // -e for the CSI camera: nvarguscamerasrc releases the sensor on EOS
    expect(gstPlan(settings({ kind: 'csi', target: '0' }), none, nano).args.slice(0, 2)).toEqual(['-e', '-v']);
    expect(plan.frameFd).toBe(3);
  });

  it('video files on a Jetson decode in hardware too', () => {
    expect(elements(settings({ kind: 'file', target: '/data/in.mp4', codec: 'h264' }))).toEqual([
      'filesrc location="/data/in.mp4"',
      'qtdemux',
      'h264parse',
      'nvv4l2decoder',
      'nvvidconv',
      'video/x-raw,format=RGBA',
      'fdsink name=out fd=3 sync=false',
    ]);
    expect(gstPlan(settings({ kind: 'file', target: '/data/in.mp4', codec: 'h264' }), none, nano).pixelFormat).toBe('rgba');
    // realtime: the sink syncs to the clock, so frames come at the file's rate
    expect(elements(settings({ kind: 'file', target: '/data/in.mp4', codec: 'h264', realtime: true })).pop()).toBe('fdsink name=out fd=3 sync=true');
  });

  it('decodebin on a Jetson (decoder: gstreamer for an H.265 file) is followed by nvvidconv, which reads the NVMM frames of the decoder it picks', () => {
    const h265 = settings({ kind: 'file', target: '/data/in.mkv', codec: 'hevc', decoder: 'gstreamer' });
    expect(elements(h265, { width: 1280, height: 720, fps: null })).toEqual([
      'filesrc location="/data/in.mkv"',
      'decodebin',
      'nvvidconv interpolation-method=1',
      'video/x-raw,format=RGBA,width=1280,height=720',
      'fdsink name=out fd=3 sync=false',
    ]);
    // an RTSP camera on a Jetson without nvv4l2decoder (older images: omx decoders, also NVMM)
    const omx = fakePlatform({ jetson: true, gstreamer: true, elements: ['nvvidconv', 'rtspsrc', 'omxh264dec'] });
    expect(elements(settings({ decoder: 'gstreamer', fps: 10 }), { width: null, height: null, fps: 10 }, omx).slice(1)).toEqual([
      'decodebin',
      'nvvidconv',
      'video/x-raw,format=RGBA',
      'videorate',
      'video/x-raw,format=RGBA,framerate=10/1',
      'fdsink name=out fd=3 sync=false',
    ]);
    // elsewhere decodebin gives plain frames: the software conversion
    expect(elements(h265, { width: 1280, height: 720, fps: null }, pc).slice(1, 3)).toEqual(['decodebin', 'videoconvert']);
  });

  it('V4L2 webcams: v4l2src with the requested mode, converted to RGBA', () => {
    expect(elements(settings({ kind: 'v4l2', target: '/dev/video1', width: 640, height: 480, fps: 30 }), { width: 640, height: 480, fps: 30 })).toEqual([
      'v4l2src device="/dev/video1"',
      'video/x-raw,width=640,height=480,framerate=30/1',
      'videoconvert',
      'videoscale',
      'videorate',
      'video/x-raw,format=RGBA,width=640,height=480,framerate=30/1',
      'fdsink name=out fd=3 sync=false',
    ]);
  });

  it('software GStreamer off a Jetson: decodebin', () => {
    expect(elements(settings({}), none, pc)).toEqual([
      'rtspsrc location="rtsp://cam/stream" protocols=tcp latency=200',
      'decodebin',
      'videoconvert',
      'videoscale',
      'video/x-raw,format=RGBA',
      'fdsink name=out fd=3 sync=false',
    ]);
    // RGBA from the software paths too: GStreamer pads RGB rows to 4 bytes (854 wide would skew)
    expect(gstPlan(settings({}), none, pc).pixelFormat).toBe('rgba');
    expect(gstPlan(settings({ kind: 'v4l2', target: '/dev/video0' }), none, nano).pixelFormat).toBe('rgba');
  });
});

describe('backend choice', () => {
  it('auto picks GStreamer with hardware decoding on a Jetson, ffmpeg elsewhere; decoder forces it', () => {
    expect(chooseBackend(settings({}), nano)).toBe('gstreamer');
    expect(chooseBackend(settings({}), pc)).toBe('ffmpeg');
    expect(chooseBackend(settings({ decoder: 'ffmpeg' }), nano)).toBe('ffmpeg');
    expect(chooseBackend(settings({ decoder: 'gstreamer' }), pc)).toBe('gstreamer');
    expect(chooseBackend(settings({ kind: 'v4l2', target: '/dev/video0' }), pc)).toBe('ffmpeg');
    // a Jetson without the parsers (gstreamer1.0-plugins-bad) cannot build the hardware pipeline
    const noParsers = fakePlatform({ jetson: true, gstreamer: true, elements: ['nvv4l2decoder', 'nvvidconv', 'rtspsrc', 'qtdemux'] });
    expect(chooseBackend(settings({}), noParsers)).toBe('ffmpeg');
    expect(chooseBackend(settings({ kind: 'file', target: '/a.mp4', codec: 'h264' }), noParsers)).toBe('ffmpeg');
  });

  it('nvvidconv scales bilinear, not nearest-neighbour, when a size is asked for', () => {
    expect(elements(settings({ width: 640, height: 360 }), { width: 640, height: 360, fps: null })).toContain('nvvidconv interpolation-method=1');
    expect(elements(settings({}))).toContain('nvvidconv');
  });

  it('explains what cannot work, in one line', () => {
    expect(() => chooseBackend(settings({ kind: 'csi', target: '0' }), pc)).toThrow(
      'csi://0: CSI cameras need a Jetson (nvarguscamerasrc); this machine is not one (use v4l2:///dev/videoN for a USB camera, or rtsp://)',
    );
    expect(() => chooseBackend(settings({ decoder: 'gstreamer' }), bare)).toThrow(/gst-launch-1.0 is not installed .*use decoder: ffmpeg/);
    expect(() => chooseBackend(settings({ kind: 'csi', target: '0', decoder: 'ffmpeg' }), nano)).toThrow(/decoder: ffmpeg cannot read CSI cameras/);
  });

  it('a CSI source off a Jetson fails when opened, with that line', async () => {
    await expect(openSource('csi://0', { platform: pc })).rejects.toThrow(/CSI cameras need a Jetson/);
    expect(parseSource('csi://0')).toEqual({ kind: 'csi', target: '0' });
    expect(parseSource('v4l2:///dev/video2')).toEqual({ kind: 'v4l2', target: '/dev/video2' });
  });
});

describe('ffmpeg plans', () => {
  it('RTSP over TCP (default) or UDP, scaled and rate-limited when asked', () => {
    const p = ffmpegPlan(settings({ target: 'rtsp://u:pw@cam/s', rtspTransport: 'udp' }), { width: 640, height: 360, fps: 5 });
    // nobuffer: what ffmpeg reads while it probes the stream is not delivered later as a burst (dropped)
    expect(p.args.slice(p.args.indexOf('-fflags'), p.args.indexOf('-fflags') + 2)).toEqual(['-fflags', 'nobuffer']);
    expect(p.args).toEqual(
      expect.arrayContaining(['-rtsp_transport', 'udp', '-i', 'rtsp://u:pw@cam/s', '-vf', 'scale=640:360,fps=5', '-pix_fmt', 'yuv420p', 'pipe:1']),
    );
    expect(p.describe).not.toContain('pw@');
    expect(p.frameFd).toBe(1);
  });

  it('V4L2 with size and rate', () => {
    const p = ffmpegPlan(settings({ kind: 'v4l2', target: '/dev/video0', width: 1280, height: 720, fps: 30 }), none);
    expect(p.args).toEqual(expect.arrayContaining(['-f', 'v4l2', '-video_size', '1280x720', '-framerate', '30', '-i', '/dev/video0']));
  });

  it("reads the frame size from ffmpeg's output description and GStreamer's caps", () => {
    expect(
      parseStreamInfo(
        'ffmpeg',
        '  Stream #0:0: Video: rawvideo (I420 / 0x30323449), yuv420p(tv, progressive), 640x480 [SAR 1:1 DAR 4:3], q=2-31, 110592 kb/s, 25 fps, 25 tbn',
      ),
    ).toEqual({ width: 640, height: 480, fps: 25 });
    // the RGB24 these plans used to ask for is not what they ask for now
    expect(
      parseStreamInfo(
        'ffmpeg',
        '  Stream #0:0: Video: rawvideo (RGB[24] / 0x18424752), rgb24(pc, gbr/unknown/unknown, progressive), 640x480 [SAR 1:1 DAR 4:3], q=2-31, 221184 kb/s, 25 fps, 25 tbn',
      ),
    ).toBeNull();
    expect(parseStreamInfo('ffmpeg', '  Stream #0:0: Video: rawvideo (YUY2 / 0x32595559), yuyv422, 640x480, 147456 kb/s, 30 fps, 30 tbr')).toBeNull(); // a V4L2 input, not our output
    expect(
      parseStreamInfo(
        'gstreamer',
        '/GstPipeline:pipeline0/GstFdSink:out.GstPad:sink: caps = video/x-raw, width=(int)1280, height=(int)720, framerate=(fraction)30000/1001, format=(string)RGB',
      ),
    ).toEqual({ width: 1280, height: 720, fps: 30000 / 1001 });
    expect(parseStreamInfo('gstreamer', '/GstPipeline:pipeline0/GstCapsFilter:capsfilter0.GstPad:src: caps = video/x-raw, width=(int)1280')).toBeNull();
  });

  it("takes ffmpeg's output stream, not a raw I420 input described in the same words before it", () => {
    const read = streamInfoReader('ffmpeg');
    const lines = [
      "Input #0, video4linux2,v4l2, from '/dev/video0':",
      '  Stream #0:0: Video: rawvideo (I420 / 0x30323449), yuv420p, 1280x720, 331776 kb/s, 30 fps, 30 tbr, 1000k tbn',
      'Stream mapping:',
      "Output #0, rawvideo, to 'pipe:1':",
      '  Stream #0:0: Video: rawvideo (I420 / 0x30323449), yuv420p(progressive), 640x360, q=2-31, 82944 kb/s, 30 fps, 30 tbn',
    ];
    expect(lines.map(read)).toEqual([null, null, null, null, { width: 640, height: 360, fps: 30 }]);
    expect(
      streamInfoReader('gstreamer')(
        '/GstPipeline:pipeline0/GstFdSink:out.GstPad:sink: caps = video/x-raw, format=(string)RGBA, width=(int)320, height=(int)240, framerate=(fraction)30/1',
      ),
    ).toEqual({ width: 320, height: 240, fps: 30 });
  });
});

describe('Jetson detection', () => {
  it('recognises L4T by /etc/nv_tegra_release or the device-tree model', () => {
    const { dir, cleanup } = tempDir('jetson');
    try {
      mkdirSync(join(dir, 'etc'));
      const release = join(dir, 'etc', 'nv_tegra_release');
      writeFileSync(release, '# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t210ref, EABI: aarch64\n');
      const model = join(dir, 'model');
      writeFileSync(model, 'NVIDIA Jetson Nano Developer Kit\0');
      const missing = join(dir, 'nope');
      expect(detectJetson({ tegraRelease: release, deviceTreeModel: model })).toEqual({ jetson: true, model: 'NVIDIA Jetson Nano Developer Kit' });
      expect(detectJetson({ tegraRelease: missing, deviceTreeModel: model }).jetson).toBe(true);
      expect(detectJetson({ tegraRelease: release, deviceTreeModel: missing })).toEqual({ jetson: true, model: 'NVIDIA Jetson (L4T)' });
      writeFileSync(model, 'Raspberry Pi 4 Model B Rev 1.4\0');
      expect(detectJetson({ tegraRelease: missing, deviceTreeModel: model }).jetson).toBe(false);
    } finally {
      cleanup();
    }
  });
});

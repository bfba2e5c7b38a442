import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnnexBParser, NAL, nalType } from '../../daemon/media/h264.js';
import { CameraOutput } from '../../daemon/sinks/camera-output.js';
import { EncodedStream } from '../../daemon/sinks/encoded-stream.js';
import { RtspServer, streamNameOf, type RtspStream } from '../../daemon/sinks/rtsp-server.js';
import { silentLogger } from '../../daemon/core/log.js';
import { openSource } from '../../daemon/sources/open-source.js';
import { rtspCamera } from '../live/rtsp-camera.js';
import { makeTestVideo, tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('rtsp-server');
afterAll(cleanup);

interface Probed {
  frames: Array<{ width: number; height: number; pict_type?: string }>;
  codec: string;
}

/** Reads `count` decoded frames from an RTSP URL with ffprobe (a standard client). */
function probeRtsp(url: string, count: number, transport: 'tcp' | 'udp' | 'default' = 'tcp'): Promise<Probed> {
  const args = [
    '-v',
    'error',
    ...(transport === 'default' ? [] : ['-rtsp_transport', transport]),
    '-select_streams',
    'v:0',
    '-read_intervals',
    `%+#${count}`,
    '-show_entries',
    'frame=width,height,pict_type:stream=codec_name',
    '-of',
    'json',
    url,
  ];
  return new Promise((resolve, reject) => {
    execFile('ffprobe', args, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`ffprobe ${url}: ${stderr || err.message}`));
      const j = JSON.parse(stdout) as { frames?: Probed['frames']; streams?: Array<{ codec_name: string }> };
      resolve({ frames: j.frames ?? [], codec: j.streams?.[0]?.codec_name ?? '' });
    });
  });
}

describe('H.264 Annex-B parser', () => {
  it('groups NAL units into access units, keyframes first with SPS/PPS', async () => {
    const file = join(dir, 'es.h264');
    await new Promise<void>((resolve, reject) =>
      execFile(
        'ffmpeg',
        [
          '-v',
          'error',
          '-f',
          'lavfi',
          '-i',
          'testsrc2=size=64x48:rate=10',
          '-frames:v',
          '12',
          '-c:v',
          'libx264',
          '-g',
          '5',
          '-bf',
          '0',
          '-f',
          'h264',
          '-y',
          file,
        ],
        (e) => (e ? reject(new Error(e.message)) : resolve()),
      ),
    );
    const aus: Array<{ types: number[]; keyframe: boolean }> = [];
    const parser = new AnnexBParser((au) => aus.push({ types: au.nals.map(nalType), keyframe: au.keyframe }));
    const { readFileSync } = await import('node:fs');
    const data = readFileSync(file);
    // feed in odd-sized chunks so start codes straddle chunk boundaries
    for (let off = 0; off < data.length; off += 7) parser.push(data.subarray(off, off + 7));
    parser.flush();
    expect(aus.length).toBe(12);
    expect(aus.filter((a) => a.keyframe).length).toBe(3); // frames 0, 5, 10
    expect(aus[0].types).toContain(NAL.SPS);
    expect(aus[0].types).toContain(NAL.PPS);
    expect(aus[1].types).not.toContain(NAL.IDR);
    expect(parser.sps && nalType(parser.sps)).toBe(NAL.SPS);
  });
});

describe('RTSP server (real ffmpeg/ffprobe clients)', () => {
  it('names streams by the first path segment', () => {
    expect(streamNameOf('rtsp://127.0.0.1:8554/front')).toBe('front');
    expect(streamNameOf('rtsp://h:1/front/trackID=0')).toBe('front');
    expect(streamNameOf('rtsp://h/back/?x=1')).toBe('back');
  });

  it('serves a live H.264 stream to three clients at once: over TCP, over UDP, and a client left to choose', async () => {
    const cam = await rtspCamera({ name: 'cam', width: 160, height: 120, fps: 15 });
    try {
      const [a, b, c] = await Promise.all([probeRtsp(cam.url, 8, 'tcp'), probeRtsp(cam.url, 8, 'udp'), probeRtsp(cam.url, 8, 'default')]);
      for (const p of [a, b, c]) {
        expect(p.codec).toBe('h264');
        expect(p.frames.length).toBeGreaterThanOrEqual(8);
        for (const f of p.frames) expect([f.width, f.height]).toEqual([160, 120]);
        expect(p.frames[0].pict_type).toBe('I'); // clients start at a keyframe
      }
    } finally {
      await cam.stop();
    }
  });

  it('answers 404 for an unknown stream', async () => {
    const cam = await rtspCamera({ name: 'cam' });
    try {
      await expect(probeRtsp(`rtsp://127.0.0.1:${cam.port}/nope`, 1)).rejects.toThrow(/404|Not Found/i);
    } finally {
      await cam.stop();
    }
  });

  it('answers 503 for a known camera that has not streamed yet, and for one whose pictures stopped', async () => {
    const server = new RtspServer();
    await server.listen(0, '127.0.0.1');
    try {
      server.mount('waiting');
      await expect(probeRtsp(`rtsp://127.0.0.1:${server.port}/waiting`, 1)).rejects.toThrow(/503|Service Unavailable/i);
    } finally {
      await server.close();
    }
    const cam = await rtspCamera({ name: 'cam', width: 160, height: 120, fps: 15 });
    try {
      expect((await probeRtsp(cam.url, 2)).frames.length).toBeGreaterThanOrEqual(2);
      // the camera's server stays up, its pictures stop (a source that is reconnecting)
      const stream = (cam.server as RtspServer).streamFor(cam.url) as RtspStream;
      stream.lastPushAt = Date.now() - 20_000;
      const push = stream.push.bind(stream);
      stream.push = () => undefined;
      await expect(probeRtsp(cam.url, 1)).rejects.toThrow(/503|Service Unavailable/i);
      stream.push = push;
    } finally {
      await cam.stop();
    }
  });

  it('tells who starts playing and who leaves, and counts the playing clients per stream', async () => {
    const cam = await rtspCamera({ name: 'cam', width: 160, height: 120, fps: 15 });
    try {
      const server = cam.server as RtspServer;
      const events: string[] = [];
      let countWhilePlaying = -1;
      server.onClient = (event, stream, peer, transport) => {
        events.push(`${event} ${stream} ${transport}`);
        expect(peer).toMatch(/^127\.0\.0\.1:\d+$/);
        if (event === 'playing') countWhilePlaying = server.clientCounts().cam;
      };
      await probeRtsp(cam.url, 2, 'tcp');
      const deadline = Date.now() + 5000;
      while (events.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(events).toEqual(['playing cam tcp', 'left cam tcp']);
      expect(countWhilePlaying).toBe(1);
      expect(server.clientCounts()).toEqual({ cam: 0 });
    } finally {
      await cam.stop();
    }
  });

  it('reports a taken port in one line', async () => {
    const a = new RtspServer();
    await a.listen(0, '127.0.0.1');
    const b = new RtspServer();
    await expect(b.listen(a.port, '127.0.0.1')).rejects.toThrow(`port ${a.port} is already in use (set rtsp_server.port to a free port)`);
    await a.close();
  });
});

describe('annotated RTSP output (frames → the camera encoder → RTSP)', () => {
  it('serves the frames written to it; a client that disconnects does not disturb the writer or other clients', async () => {
    const file = makeTestVideo(join(dir, 'in.mp4'), { width: 176, height: 144, fps: 15, frames: 15 });
    const server = new RtspServer();
    await server.listen(0, '127.0.0.1');
    const stream = server.mount('front');
    const logger = silentLogger();
    const sink = new CameraOutput({
      camera: 'front',
      stream: new EncodedStream('front'),
      video: { width: 176, height: 144, fpsRational: '15' },
      live: true,
      record: null,
      rtsp: stream,
      logger,
    });
    const src = await openSource(file, { loop: true });
    let written = 0;
    let writeError: unknown = null;
    let running = true;
    const feeding = (async () => {
      for await (const f of src.frames()) {
        try {
          await sink.write(f.data, f.pts);
          written++;
        } catch (err) {
          writeError = err;
        }
        src.pool.release(f.data);
        if (!running) break;
        await new Promise((r) => setTimeout(r, 1000 / 15));
      }
    })();
    const url = `rtsp://127.0.0.1:${server.port}/front`;
    try {
      // a client that connects, receives, and is killed mid-stream
      const dropper = spawn('ffmpeg', ['-v', 'error', '-rtsp_transport', 'tcp', '-i', url, '-f', 'null', '-'], { stdio: 'ignore' });
      const dropped = new Promise((r) => dropper.once('close', r));
      const until = Date.now() + 20_000;
      while (stream.clients.size < 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(stream.clients.size).toBe(1);
      const before = written;
      const p = probeRtsp(url, 10, 'tcp');
      await new Promise((r) => setTimeout(r, 300));
      dropper.kill('SIGKILL');
      await dropped;
      const probed = await p;
      expect(probed.frames.length).toBeGreaterThanOrEqual(10);
      for (const f of probed.frames) expect([f.width, f.height]).toEqual([176, 144]);
      expect(written).toBeGreaterThan(before);
      expect(writeError).toBeNull();
      // the killed client is gone from the stream; the server keeps serving
      const again = await probeRtsp(url, 3, 'tcp');
      expect(again.frames.length).toBeGreaterThanOrEqual(3);
      expect(stream.clients.size).toBe(0);
    } finally {
      running = false;
      src.stop();
      await feeding;
      await sink.close();
      await server.close();
    }
  });

  it('never holds up the pipeline for long: a stuck encoder is restarted and frames are skipped, not waited for', async () => {
    const server = new RtspServer();
    await server.listen(0, '127.0.0.1');
    const sink = new CameraOutput({
      camera: 'cam',
      stream: new EncodedStream('cam'),
      video: { width: 320, height: 240, fpsRational: '25' },
      live: true,
      record: null,
      rtsp: server.mount('cam'),
      logger: silentLogger(),
    });
    const frame = Buffer.alloc(320 * 240 * 3, 77);
    try {
      await sink.write(frame, 0);
      const pid = sink.encoder.encoderPid as number;
      process.kill(pid, 'SIGSTOP'); // the encoder stops reading: its pipe fills up
      const t0 = Date.now();
      for (let i = 1; i < 200; i++) await sink.write(frame, i / 25); // 15 MB, far beyond a pipe's buffer
      expect(Date.now() - t0).toBeLessThan(20_000);
      // the stuck encoder cost one wait of 3 s, not one per frame; the frames after it were skipped or went to a new encoder
      expect(sink.encoder.skipped + sink.encoder.frames).toBe(200);
      // a new encoder takes over with the frames after the pause between restarts
      for (let i = 0; (sink.encoder.encoderPid === null || sink.encoder.encoderPid === pid) && i < 200; i++) {
        await sink.write(frame, 8 + i / 25);
        await new Promise((r) => setTimeout(r, 40));
      }
      expect(sink.encoder.encoderPid).not.toBeNull();
      expect(sink.encoder.encoderPid).not.toBe(pid);
      expect(sink.encoder.restarts).toBe(1);
    } finally {
      await sink.close();
      await server.close();
    }
  });
});

/**
 * A real RTSP camera for tests: ffmpeg encodes its test pattern live (H.264, paced with -re) and
 * the daemon's own RTSP server serves it at rtsp://127.0.0.1:PORT/<name>. `stop()` kills both (the
 * connected daemon sees the connection drop); `start()` brings it back on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { AnnexBParser } from '../../daemon/media/h264.js';
import { RtspServer, type RtspServerOptions } from '../../daemon/sinks/rtsp-server.js';
import { freePort } from '../support/mosquitto.js';

export interface RtspCamera {
  port: number;
  url: string;
  server: RtspServer | null;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function rtspCamera(
  opts: { name?: string; width?: number; height?: number; fps?: number; port?: number; server?: RtspServerOptions } = {},
): Promise<RtspCamera> {
  const { name = 'cam', width = 160, height = 120, fps = 15 } = opts;
  const port = opts.port ?? (await freePort());
  let proc: ChildProcess | null = null;
  const cam: RtspCamera = {
    port,
    url: `rtsp://127.0.0.1:${port}/${name}`,
    server: null,
    async start() {
      const server = new RtspServer(opts.server);
      for (let attempt = 0; ; attempt++) {
        try {
          await server.listen(port, '127.0.0.1');
          break;
        } catch (err) {
          if (attempt > 20) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const stream = server.mount(name);
      let n = 0;
      const parser = new AnnexBParser((au) => stream.push(au, n++ / fps));
      proc = spawn(
        'ffmpeg',
        [
          '-nostdin',
          '-v',
          'error',
          '-re',
          '-f',
          'lavfi',
          '-i',
          `testsrc2=size=${width}x${height}:rate=${fps}`,
          '-c:v',
          'libx264',
          '-preset',
          'ultrafast',
          '-tune',
          'zerolatency',
          '-pix_fmt',
          'yuv420p',
          '-g',
          String(fps),
          '-bf',
          '0',
          '-x264-params',
          'repeat-headers=1:aud=1',
          '-f',
          'h264',
          'pipe:1',
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      proc.stdout?.on('data', (d: Buffer) => parser.push(d));
      cam.server = server;
    },
    async stop() {
      const p = proc;
      proc = null;
      if (p && p.exitCode === null) {
        const exited = new Promise((r) => p.once('close', r));
        p.kill('SIGKILL');
        await exited;
      }
      await cam.server?.close();
      cam.server = null;
    },
  };
  await cam.start();
  return cam;
}

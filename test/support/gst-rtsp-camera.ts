/**
 * An RTSP camera that is not ours: GStreamer's gst-rtsp-server (test/support/gst-rtsp-camera.py,
 * Debian's gir1.2-gst-rtsp-server-1.0 and python3-gi) serving a live H.264 test pattern at
 * rtsp://[user:password@]127.0.0.1:PORT/<name>. Same shape as test/live/rtsp-camera.ts: `stop()`
 * kills the server (clients see the connection drop), `start()` brings it back on the same port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './cli.js';
import { freePort } from './mosquitto.js';
import type { RtspCamera } from '../live/rtsp-camera.js';

const SCRIPT = join(ROOT, 'test', 'support', 'gst-rtsp-camera.py');
/** Debian's python3 (python3-gi is built for it), not a python3 first in PATH */
const PYTHON = '/usr/bin/python3';

/** Why gst-rtsp-server cannot run here, or null. */
export function whyNoGstRtspServer(): string | null {
  const r = spawnSync(PYTHON, ['-c', "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    return 'gst-rtsp-server for Python is missing (apt-get install gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-ugly)';
  return null;
}

export interface GstRtspCameraOptions {
  name?: string;
  width?: number;
  height?: number;
  fps?: number;
  port?: number;
  /** require RTSP Basic authentication with these credentials */
  user?: string;
  password?: string;
  /** the camera's codec (default h264) */
  codec?: 'h264' | 'h265';
}

export async function gstRtspCamera(opts: GstRtspCameraOptions = {}): Promise<RtspCamera & { pid: () => number | null }> {
  const { name = 'cam', width = 320, height = 240, fps = 15 } = opts;
  const port = opts.port ?? (await freePort());
  const auth = opts.user ? `${encodeURIComponent(opts.user)}:${encodeURIComponent(opts.password ?? '')}@` : '';
  let proc: ChildProcess | null = null;
  const args = [SCRIPT, '--port', String(port), '--name', name, '--width', String(width), '--height', String(height), '--fps', String(fps)];
  if (opts.user) args.push('--user', opts.user, '--password', opts.password ?? '');
  if (opts.codec) args.push('--codec', opts.codec);
  const cam = {
    port,
    url: `rtsp://${auth}127.0.0.1:${port}/${name}`,
    server: null,
    pid: () => proc?.pid ?? null,
    async start() {
      for (let attempt = 0; ; attempt++) {
        const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let err = '';
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        const ready = await new Promise<boolean>((resolve) => {
          child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve(true));
          child.on('exit', () => resolve(false));
        });
        if (ready) {
          proc = child;
          return;
        }
        // the port may still be held by the server stopped a moment ago
        if (attempt > 20) throw new Error(`gst-rtsp-camera.py did not start: ${err.trim()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop() {
      const p = proc;
      proc = null;
      if (!p || p.exitCode !== null) return;
      const gone = new Promise((r) => p.on('exit', r));
      p.kill('SIGKILL');
      await gone;
    },
  };
  await cam.start();
  return cam;
}

import { execFile } from 'node:child_process';
import { ffmpegPath } from './image-io.js';

let fpsMode: Promise<boolean> | null = null;

/**
 * The option that keeps every decoded frame with its own timestamp: `-fps_mode passthrough` on
 * ffmpeg 5.1 and later, `-vsync passthrough` before (Ubuntu 18.04 on a Jetson Nano has 3.4).
 * Asked once (`ffmpeg -h full`, off the event loop) and cached.
 */
export async function passthroughArgs(): Promise<string[]> {
  fpsMode ??= new Promise((resolve) => {
    execFile(ffmpegPath(), ['-hide_banner', '-h', 'full'], { maxBuffer: 16 << 20 }, (err, stdout) => resolve(!err && /^-fps_mode\b/m.test(String(stdout))));
  });
  return (await fpsMode) ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough'];
}

import { execFile } from 'node:child_process';
import { ffmpegPath } from './image-io.js';

interface Features {
  /** `-fps_mode` (ffmpeg 5.1+); before it, `-vsync` */
  fpsMode: boolean;
  /** `-enc_time_base` (ffmpeg 4.0+): the encoder keeps the input's timestamps exactly */
  encTimeBase: boolean;
}

let features: Promise<Features> | null = null;

/** The options this ffmpeg has, asked once (`ffmpeg -h full`, off the event loop) and cached. */
function ffmpegFeatures(): Promise<Features> {
  features ??= new Promise((resolve) => {
    execFile(ffmpegPath(), ['-hide_banner', '-h', 'full'], { maxBuffer: 16 << 20 }, (err, stdout) => {
      const help = err ? '' : String(stdout);
      resolve({ fpsMode: /^-fps_mode\b/m.test(help), encTimeBase: /^-enc_time_base\b/m.test(help) });
    });
  });
  return features;
}

/**
 * The option that keeps every decoded frame with its own timestamp: `-fps_mode passthrough` on
 * ffmpeg 5.1 and later, `-vsync passthrough` before (Ubuntu 18.04 on a Jetson Nano has 3.4).
 */
export async function passthroughArgs(): Promise<string[]> {
  return (await ffmpegFeatures()).fpsMode ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough'];
}

/**
 * Output options that keep each frame's input timestamp: passthrough (no frame duplicated or
 * dropped to make a constant rate) and, where ffmpeg has it, an encoder time base of 1/`timescale`
 * (else the encoder rounds times to 1/frame-rate, which is exact for constant-rate input only).
 */
export async function keepTimestampArgs(timescale: number): Promise<string[]> {
  const f = await ffmpegFeatures();
  return [...(await passthroughArgs()), ...(f.encTimeBase ? ['-enc_time_base', `1/${timescale}`] : [])];
}

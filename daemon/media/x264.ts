/** The recording's libx264 settings: one place for the presets, the defaults and the arguments. */

/** libx264's speed/size trade-offs, fastest first */
export const X264_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'] as const;

/**
 * libx264 preset when none is given; also record.preset's default. ultrafast: on a machine without
 * a hardware encoder the recording competes with the detector for the CPU, and ultrafast takes
 * about 0.6 × veryfast's CPU per frame for the same SSIM at the same crf, in files about twice
 * as big (scripts/bench measures the presets on the machine: bench/REPORT.md, "Recording presets").
 */
export const DEFAULT_PRESET = 'ultrafast';
/** libx264 crf when none is given; also record.crf's default */
export const DEFAULT_CRF = 23;

/**
 * The recording's libx264 settings: preset and crf, yuv420p, a keyframe every `gop` frames and no
 * B-frames. Also what `scripts/bench` encodes with when it compares the presets.
 */
export function x264Args(gop: number, preset: string = DEFAULT_PRESET, crf: number = DEFAULT_CRF): string[] {
  const g = String(gop);
  return ['-c:v', 'libx264', '-preset', preset, '-crf', String(crf), '-pix_fmt', 'yuv420p', '-g', g, '-keyint_min', g, '-sc_threshold', '0', '-bf', '0'];
}

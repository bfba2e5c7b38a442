import { loadConfig, type Config } from '../config/index.js';
import { modelOptions, openDetector } from '../detect/open.js';
import type { DetectOptions, Detector } from '../detect/types.js';
import { detectOptions } from '../detect/detections.js';
import type { DetectSettings } from '../config/types.js';
import { requireModelFile } from '../detect/model-file.js';
import { ConfigError } from '../core/errors.js';

/** The defaults of the `detect` section, for commands run without -c. */
export const DEFAULT_DETECT: DetectSettings = { threshold: 0.4, nms_iou: 0.45, classes: [], interval: 0, top_k: 200, drop_group_boxes: true };

/** `-m`/`-c` handling shared by detect, eval and bench: -m overrides model.path. */
export async function openModelFromArgs(
  command: string,
  values: { model?: string; config?: string },
  overrides: { threshold?: number; withVideo?: boolean } = {},
) {
  const config: Config | null = values.config ? loadConfig(values.config, { modelOnly: true }) : null;
  const modelPath = values.model ?? config?.model.path;
  if (!modelPath) throw new ConfigError(`trt-detect ${command}: -m MODEL is required (or -c CONFIG with model.path)`);
  requireModelFile(modelPath);
  const m = config?.model;
  const detector: Detector = await openDetector({
    ...(m ? modelOptions(m) : {}),
    modelPath,
    // model.threads auto leaves a core to the video work where there is some
    withVideo: overrides.withVideo ?? false,
    log: (level, msg) => {
      if (level === 'warn') process.stderr.write(`${msg}\n`);
    },
    onProgress: (line) => process.stderr.write(`engine build: ${line}\n`),
  });
  const d = config?.detect ?? DEFAULT_DETECT;
  const options: DetectOptions = detectOptions({ ...d, ...(overrides.threshold !== undefined ? { threshold: overrides.threshold } : {}) }, detector.info);
  return { config, detector, options, interval: d.interval };
}

/** Parses a numeric option with a one-line error (exit 2). */
export function numberOption(command: string, name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const v = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) throw new ConfigError(`trt-detect ${command}: --${name} ${raw}: expected a number from ${min} to ${max}`);
  return v;
}

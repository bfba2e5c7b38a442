import { statSync } from 'node:fs';
import { defaultConfigPath, loadConfig, maskSecrets, registerConfigSecrets, sourceFilePath } from '../config/index.js';
import { probeVideo } from '../media/probe.js';
import { isNormalizedPolygon, polygonProblem } from '../config/zones.js';
import { describeConfig } from './describe-config.js';
import type { Config } from '../config/index.js';
import { modelOptions, openDetector } from '../detect/open.js';
import { reportedLabels } from '../detect/labels.js';
import { isEnginePath } from '../detect/tensorrt-backend.js';
import { ConfigError, RuntimeFailure, errorMessage } from '../core/errors.js';
import { parseCommandArgs, type Command } from './args.js';

const HELP = `Usage: trt-detect check-config [-c FILE]

Validates a config.yaml (keys, types, ranges, sources; that the model and file sources exist and
the recording folders can be written; an .onnx model is loaded with ONNX Runtime to check its
outputs and labels) and prints what trt-detect run would do with it, secrets masked. Problems are printed one per line
as file:line:col: key.path: what is wrong (what to do).

Options:
  -c, --config FILE     config file (default /etc/trt-detect/config.yaml, else ./config/config.yaml)
  -h, --help            this help

Exit codes: 0 valid, 2 invalid.
`;

/**
 * Loads an .onnx model the way `run` would (ONNX Runtime on the CPU, whatever the backend: the
 * outputs, layout and labels are the same for a TensorRT build), so a file that is not a model, an
 * unsupported layout or labels that do not match are found here, not at the first start.
 * TensorRT engines are loaded by `run` only (they need the GPU).
 */
async function checkModel(file: string, config: Config): Promise<string> {
  const m = config.model;
  if (isEnginePath(m.path)) return `model check: ${m.path} is a TensorRT engine; run loads it on the GPU`;
  try {
    const detector = await openDetector({ ...modelOptions(m), backend: 'onnxruntime', threads: 1 });
    const i = detector.info;
    await detector.close();
    return `model check: loaded with ONNX Runtime: input ${i.inputWidth}x${i.inputHeight}, layout ${i.layout}, reports ${reportedLabels(i).join(', ')}`;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof RuntimeFailure)
      throw new ConfigError(`${file}: model.path: ${m.path}: ${errorMessage(err).replace(`${m.path}: `, '')}`);
    throw err;
  }
}

/**
 * Opens every enabled file source the way `run` would (ffprobe), so that an empty file, a text file
 * named .mp4 or a video without a video stream is found here, not when the camera starts.
 */
async function checkVideos(file: string, config: Config): Promise<void> {
  for (const [name, cam] of Object.entries(config.cameras)) {
    if (!cam.enabled) continue;
    const path = sourceFilePath(cam.source);
    if (path === null || /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) continue; // not a file source
    if (statSync(path).size === 0) throw new ConfigError(`${file}: cameras.${name}.source: ${path}: the file is empty (copy the video again)`);
    let info: { width: number; height: number };
    try {
      info = await probeVideo(path);
    } catch (err) {
      throw new ConfigError(`${file}: cameras.${name}.source: ${errorMessage(err)}`);
    }
    // zones in pixels must lie inside the file's frames (as run checks at start)
    for (const [zone, z] of Object.entries(cam.zones)) {
      const outside = isNormalizedPolygon(z.coordinates) ? null : polygonProblem(z.coordinates, info);
      if (outside) throw new ConfigError(`${file}: cameras.${name}.zones.${zone}.coordinates: ${outside}`);
    }
  }
}

export const checkConfigCommand: Command = async (argv) => {
  const { values } = parseCommandArgs('check-config', argv, { config: { type: 'string', short: 'c' } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const file = values.config ?? defaultConfigPath();
  try {
    const config = loadConfig(file, { checkFiles: true });
    registerConfigSecrets(config);
    await checkVideos(file, config);
    const model = await checkModel(file, config);
    process.stdout.write(maskSecrets(`config: ${file}\n${describeConfig(config)}${model}\nconfig OK`) + '\n');
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${maskSecrets(err.message)}\n`);
    return 2;
  }
};

import { existsSync, statSync } from 'node:fs';
import { extname, join, dirname, basename } from 'node:path';
import { loadConfig, type Config } from '../config/index.js';
import { requireModelFile } from '../detect/model-file.js';
import { ConfigError, RuntimeFailure } from '../core/errors.js';
import { addonInfo } from '../native.js';
import { ensureEngine, isEnginePath } from '../detect/tensorrt-backend.js';
import type { Precision } from '../detect/tensorrt-engine-cache.js';
import { parseCommandArgs, type Command } from './args.js';

const HELP = `Usage: trt-detect build-engine -m MODEL.onnx --precision int8|fp16|fp32 [--calib DIR] [-o FILE] [-c FILE]

Builds a TensorRT engine from an ONNX model on this device and stores it in the engine cache
beside the model (MODEL.<precision>.engine + .json key), where the daemon finds it. Needs a host
with TensorRT (a Jetson with JetPack) and the addon built there (npm run setup finds TensorRT).

Options:
  -m, --model FILE        the .onnx model (default: model.path of -c)
  --precision P           int8, fp16 or fp32 (default: model.precision of -c, else fp16). A GPU
                          without fast INT8/FP16 (Jetson Nano: no INT8) falls back to the next one
                          with a warning; --strict refuses instead
  --calib DIR             INT8 calibration data: images and/or videos (e.g. recordings of your own
                          cameras), up to 500 frames are used (default: model.calibration.images)
  --calib-cache FILE      TensorRT calibration cache, read when it exists (a TAO cal.bin works),
                          written after calibrating (default: model.calibration.cache, else
                          MODEL.calib.cache beside the model)
  -o, --output FILE       write the engine here instead of the cache path
  --strict                fail instead of falling back to another precision
  --workspace-mb N        TensorRT builder workspace (default 256)
  -c, --config FILE       take model, precision, input and calibration settings from a config
`;

const PRECISIONS = ['int8', 'fp16', 'fp32'];

export const buildEngineCommand: Command = async (argv) => {
  const { values } = parseCommandArgs('build-engine', argv, {
    model: { type: 'string', short: 'm' },
    precision: { type: 'string' },
    calib: { type: 'string' },
    'calib-cache': { type: 'string' },
    output: { type: 'string', short: 'o' },
    strict: { type: 'boolean' },
    'workspace-mb': { type: 'string' },
    config: { type: 'string', short: 'c' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const config: Config | null = values.config ? loadConfig(values.config, { modelOnly: true }) : null;
  const modelPath = values.model ?? config?.model.path;
  if (!modelPath) throw new ConfigError('trt-detect build-engine: -m MODEL.onnx is required (or -c CONFIG with model.path)');
  const precision = values.precision ?? config?.model.precision ?? 'fp16';
  if (!PRECISIONS.includes(precision)) throw new ConfigError(`trt-detect build-engine: --precision ${precision}: expected int8, fp16 or fp32`);
  if (isEnginePath(modelPath))
    throw new ConfigError(`trt-detect build-engine: ${modelPath} is already a TensorRT engine (give the .onnx model it was made from)`);
  requireModelFile(modelPath);
  if (statSync(modelPath).isDirectory()) throw new ConfigError(`${modelPath}: is a directory, not a model file (check -m or model.path)`);
  if (extname(modelPath).toLowerCase() !== '.onnx') throw new ConfigError(`${modelPath}: build-engine takes an .onnx model`);
  let workspaceMb: number | undefined;
  if (values['workspace-mb'] !== undefined) {
    workspaceMb = Number(values['workspace-mb']);
    if (!Number.isInteger(workspaceMb) || workspaceMb < 16 || workspaceMb > 65536) {
      throw new ConfigError(`trt-detect build-engine: --workspace-mb ${values['workspace-mb']}: expected an integer from 16 to 65536`);
    }
  }
  const calibImages = values.calib ?? config?.model.calibration.images;
  if (values.calib !== undefined && !existsSync(values.calib)) throw new ConfigError(`trt-detect build-engine: --calib ${values.calib}: folder not found`);
  const calibCache =
    values['calib-cache'] ?? config?.model.calibration.cache ?? join(dirname(modelPath), `${basename(modelPath, extname(modelPath))}.calib.cache`);

  if (!addonInfo.tensorrt) {
    throw new RuntimeFailure(
      'trt-detect build-engine: this build has no TensorRT (TensorRT headers/libraries were not found when the addon was built; build on a Jetson with JetPack, or use the .onnx model with ONNX Runtime)',
    );
  }
  const say = (line: string) => process.stdout.write(`build-engine: ${line}\n`);
  const m = config?.model;
  const outcome = await ensureEngine(modelPath, {
    modelPath,
    precision: precision as Precision,
    strictPrecision: values.strict ?? m?.strict_precision ?? false,
    calibration: { images: calibImages ?? '', cache: calibCache },
    ...(m ? { input: m.input } : {}),
    ...(values.output ? { enginePath: values.output } : {}),
    ...(workspaceMb ? { workspaceMb } : {}),
    rebuild: true,
    log: (level, message) => say(level === 'warn' ? `warning: ${message}` : message),
    onProgress: say,
  });
  for (const w of outcome.warnings) say(`TensorRT warning: ${w}`);
  const s = outcome.sidecar;
  process.stdout.write(
    `${outcome.enginePath}: ${s.precision} engine, input ${s.input_shape.join('x')}, ${(s.engine_bytes / 1e6).toFixed(1)} MB, TensorRT ${s.tensorrt}, ${s.gpu} (sm ${s.compute_capability})\n`,
  );
  return 0;
};

import { addonInfo } from '../native.js';
import { RuntimeFailure } from '../errors.js';
import { parseCommandArgs, type Command } from './args.js';

const HELP = `Usage: trt-detect build-engine -m MODEL.onnx --precision int8|fp16|fp32 [--calib DIR] [-o FILE] [-c FILE]

Builds and caches a TensorRT engine from an ONNX model. Needs a host with TensorRT
(a Jetson with JetPack) and the addon built there (npm run setup finds TensorRT).
`;

export const buildEngineCommand: Command = async (argv) => {
  const { values } = parseCommandArgs('build-engine', argv, {
    model: { type: 'string', short: 'm' },
    precision: { type: 'string' },
    calib: { type: 'string' },
    output: { type: 'string', short: 'o' },
    config: { type: 'string', short: 'c' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!addonInfo.tensorrt) {
    throw new RuntimeFailure('trt-detect build-engine: this build has no TensorRT (TensorRT headers/libraries were not found when the addon was built; build on a Jetson with JetPack, or use the .onnx model with ONNX Runtime)');
  }
  throw new RuntimeFailure('trt-detect build-engine: the TensorRT engine builder is not part of this build yet');
};

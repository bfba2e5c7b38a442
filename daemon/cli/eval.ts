import { promises as fsp } from 'node:fs';
import { ConfigError, RuntimeFailure, errorMessage } from '../core/errors.js';
import { readKittiDataset } from '../eval/kitti.js';
import { DEFAULT_EVAL_THRESHOLD, formatReport, reportJson, runEval, type EvalReport } from '../eval/run-eval.js';
import { parseCommandArgs, type Command } from './args.js';
import { numberOption, openModelFromArgs } from './model-options.js';

const HELP = `Usage: trt-detect eval -m MODEL -d DATASET [--json FILE] [-c FILE] [--threshold T] [--iou IOU]

mAP@0.5 per class and overall (VOC 2010+ all-point interpolated AP) on a KITTI-format dataset.

Options:
  -m, --model MODEL     .onnx model (or TensorRT engine on a Jetson); overrides model.path of -c
  -d, --dataset DIR     KITTI-format dataset: DIR/images/*.{png,jpg,jpeg,bmp} and DIR/labels/<name>.txt
  --json FILE           also write the results as JSON: {"mAP":..,"ap":{..},"images":..,..}
  -c, --config FILE     use this config's model and detect sections (nms_iou, top_k, classes)
  --threshold T         score threshold for detections (default 0.01: mAP needs the low-score tail)
  --iou IOU             IoU a detection needs to match a ground truth box (default 0.5)
  -h, --help            this help

Ground truth: KITTI types map to the model's labels case-insensitively (Car/Van/Truck -> vehicle,
Pedestrian -> pedestrian, Cyclist -> bicycle also accepted). DontCare boxes are ignore regions:
detections more than half inside one count neither as true nor false positives. Boxes that are
largely occluded (occluded = 2), truncated more than 0.5 or under 10 px tall are "difficult":
matching them is neither TP nor FP, missing them is no false negative. Classes without ground
truth are shown as n/a and left out of the mean.

Exit codes: 0 done, 1 runtime failure (missing or unreadable dataset, bad label file), 2 bad
arguments or model.
`;

export const evalCommand: Command = async (argv) => {
  const { values } = parseCommandArgs('eval', argv, {
    model: { type: 'string', short: 'm' },
    dataset: { type: 'string', short: 'd' },
    json: { type: 'string' },
    config: { type: 'string', short: 'c' },
    threshold: { type: 'string' },
    iou: { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const datasetDir = values.dataset;
  if (!datasetDir) throw new ConfigError('trt-detect eval: -d DATASET is required (a KITTI-format folder with images/ and labels/)');
  const threshold = numberOption('eval', 'threshold', values.threshold, 0, 1) ?? DEFAULT_EVAL_THRESHOLD;
  const iou = numberOption('eval', 'iou', values.iou, 0.01, 1) ?? 0.5;
  const jsonFile = values.json;
  // check the dataset before the (slow) model load so a typo fails at once
  const { samples } = await readKittiDataset(datasetDir, []);
  if (samples.length === 0) throw new RuntimeFailure(`${datasetDir}: no images (.png, .jpg, .jpeg, .bmp) in its images/ folder`);
  const { detector, options } = await openModelFromArgs('eval', values, { threshold });
  let report: EvalReport;
  try {
    const tty = process.stderr.isTTY === true;
    report = await runEval(detector, datasetDir, {
      detect: options,
      iou,
      onImage: tty ? (done, total) => process.stderr.write(`\r${done}/${total} images`) : undefined,
    });
    if (tty) process.stderr.write('\r\x1b[K');
  } finally {
    await detector.close();
  }
  process.stdout.write(formatReport(report));
  if (jsonFile) {
    try {
      await fsp.writeFile(jsonFile, reportJson(report));
    } catch (err) {
      throw new RuntimeFailure(`${jsonFile}: cannot write the JSON results (${errorMessage(err)})`);
    }
    process.stdout.write(`results -> ${jsonFile}\n`);
  }
  return 0;
};

import { promises as fsp } from 'node:fs';
import { ConfigError, RuntimeFailure, errorMessage } from '../core/errors.js';
import { readKittiDataset } from '../eval/kitti.js';
import { DEFAULT_EVAL_THRESHOLD, formatReport, reportJson, runEval, type EvalReport } from '../eval/run-eval.js';
import { readMotSequence } from '../eval/mot-sequence.js';
import { formatTrackReport, runTrackEval, trackReportJson, type TrackEvalReport } from '../eval/run-tracks.js';
import { DEFAULT_TRACK } from '../config/config-schema.js';
import { parseCommandArgs, type Command } from './args.js';
import { numberOption, openModelFromArgs } from './model-options.js';

const HELP = `Usage: trt-detect eval -m MODEL -d DATASET [--json FILE] [-c FILE] [--threshold T] [--iou IOU]
       trt-detect eval --tracks -m MODEL -d SEQDIR [--json FILE] [-c FILE] [--interval N] [--threshold T]

mAP@0.5 per class and overall (VOC 2010+ all-point interpolated AP) on a KITTI-format dataset;
with --tracks, multi-object tracking quality (MOTA, IDF1, ID switches, MOTP) on a MOTChallenge
sequence, detector and tracker run as a camera of the daemon runs them.

Options:
  -m, --model MODEL     .onnx model (or TensorRT engine on a Jetson); overrides model.path of -c
  -d, --dataset DIR     KITTI-format dataset: DIR/images/*.{png,jpg,jpeg,bmp} and DIR/labels/<name>.txt
  --json FILE           also write the results as JSON: {"mAP":..,"ap":{..},"images":..,..}
  -c, --config FILE     use this config's model and detect sections (nms_iou, top_k, classes)
  --threshold T         score threshold for detections (default 0.01: mAP needs the low-score tail)
  --iou IOU             IoU a detection needs to match a ground truth box (default 0.5)
  --tracks              evaluate tracking on the MOTChallenge sequence SEQDIR (seqinfo.ini, gt/gt.txt,
                        its clip SEQDIR/<name>.mp4 or frames img1/): MOTA, IDF1, ID switches, MOTP,
                        FP, FN, precision, recall per class and in all; --json writes
                        {"mota":..,"idf1":..,"id_switches":..,..}. Detector options come from -c's
                        detect section (default threshold 0.4), the tracker's from its first camera's
                        track section (default max_age_seconds 3, min_hits 3, match_iou 0.3,
                        appearance true)
  --min-height PX       --tracks: ground truth lower than this is ignored, and tracked boxes that low
                        that match none (default 25, KITTI's "moderate")
  --min-visibility V    --tracks: ground truth less visible than this is ignored (default 0.5)
  --interval N          --tracks: detect.interval (default: -c's, else 0): the detector sees every
                        (N+1)-th frame, the frames between carry the tracks' predicted boxes
  -h, --help            this help

Ground truth: KITTI types map to the model's labels case-insensitively (Car/Van/Truck -> vehicle,
Pedestrian -> pedestrian, Cyclist -> bicycle also accepted). DontCare boxes are ignore regions:
detections more than half inside one count neither as true nor false positives. Boxes that are
largely occluded (occluded = 2), truncated more than 0.5 or under 10 px tall are "difficult":
matching them is neither TP nor FP, missing them is no false negative. Classes without ground
truth are shown as n/a and left out of the mean.

With --tracks, a ground-truth box and a tracked box correspond at IoU >= 0.5 (--iou); gt lines
with conf 0, or lower or less visible than --min-height / --min-visibility, are ignored (a track
covering one is neither a match nor a false positive); classes
are MOT17's numbers: 1 pedestrian (person), 3 vehicle (car, truck, bus), 4 bicycle; tracked boxes of
other labels (road_sign) are not scored.

Exit codes: 0 done, 1 runtime failure (missing or unreadable dataset, bad label file, a clip
that does not decode), 2 bad arguments or model, a bad SEQDIR or missing gt/gt.txt.
`;

export const evalCommand: Command = async (argv) => {
  const { values } = parseCommandArgs('eval', argv, {
    model: { type: 'string', short: 'm' },
    dataset: { type: 'string', short: 'd' },
    json: { type: 'string' },
    config: { type: 'string', short: 'c' },
    threshold: { type: 'string' },
    iou: { type: 'string' },
    tracks: { type: 'boolean' },
    interval: { type: 'string' },
    'min-height': { type: 'string' },
    'min-visibility': { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.tracks) return evalTracks(values);
  for (const o of ['interval', 'min-height', 'min-visibility'] as const)
    if (values[o] !== undefined) throw new ConfigError(`trt-detect eval: --${o} goes with --tracks`);
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

/** `eval --tracks`: tracking quality on a MOTChallenge sequence. */
async function evalTracks(values: {
  model?: string;
  config?: string;
  dataset?: string;
  json?: string;
  threshold?: string;
  iou?: string;
  interval?: string;
  'min-height'?: string;
  'min-visibility'?: string;
}): Promise<number> {
  const seqDir = values.dataset;
  if (!seqDir) throw new ConfigError('trt-detect eval --tracks: -d SEQDIR is required (a MOTChallenge sequence: seqinfo.ini, gt/gt.txt, img1/)');
  const threshold = numberOption('eval', 'threshold', values.threshold, 0, 1);
  const iou = numberOption('eval', 'iou', values.iou, 0.01, 1) ?? 0.5;
  const intervalArg = numberOption('eval', 'interval', values.interval, 0, 1000);
  const minHeight = numberOption('eval', 'min-height', values['min-height'], 0, 100000);
  const minVisibility = numberOption('eval', 'min-visibility', values['min-visibility'], 0, 1);
  if (intervalArg !== undefined && !Number.isInteger(intervalArg))
    throw new ConfigError(`trt-detect eval: --interval ${values.interval}: expected a whole number`);
  // check the sequence before the (slow) model load so a typo fails at once
  const seq = readMotSequence(seqDir);
  const { config, detector, options, interval } = await openModelFromArgs('eval', values, threshold !== undefined ? { threshold } : {});
  const camera = config ? Object.values(config.cameras)[0] : undefined;
  const { enabled: _enabled, ...track } = camera?.track ?? DEFAULT_TRACK;
  let report: TrackEvalReport;
  try {
    const tty = process.stderr.isTTY === true;
    report = await runTrackEval(detector, seq, {
      detect: options,
      track,
      interval: intervalArg ?? interval,
      iou,
      ...(minHeight !== undefined ? { minHeight } : {}),
      ...(minVisibility !== undefined ? { minVisibility } : {}),
      onFrame: tty ? (done, total) => process.stderr.write(`\r${done}/${total} frames`) : undefined,
    });
    if (tty) process.stderr.write('\r\x1b[K');
  } finally {
    await detector.close();
  }
  process.stdout.write(formatTrackReport(report));
  if (values.json) {
    try {
      await fsp.writeFile(values.json, trackReportJson(report));
    } catch (err) {
      throw new RuntimeFailure(`${values.json}: cannot write the JSON results (${errorMessage(err)})`);
    }
    process.stdout.write(`results -> ${values.json}\n`);
  }
  return 0;
}

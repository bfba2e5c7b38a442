import { DEFAULT_EVENTS, DEFAULT_SNAPSHOTS, DEFAULT_TRACK } from '../config/config-schema.js';
import { CameraEvents } from '../events/camera-events.js';
import type { ObjectEvent } from '../events/types.js';
import { createWriteStream, existsSync, openSync, statSync, type WriteStream } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { drawBoxes } from '../detect/detections.js';
import type { Detector, DetectOptions } from '../detect/types.js';
import { ConfigError, RuntimeFailure } from '../core/errors.js';
import { fileWriteProblem, FolderError, makeDirs } from '../core/files.js';
import { listImages, readImage, writeImage } from '../media/image-io.js';
import * as native from '../native.js';
import { detectionMessage, type DetectionMessage } from '../sinks/detection-message.js';
import { Mp4Writer } from '../sinks/mp4-writer.js';
import { CameraPipeline } from '../service/camera-pipeline.js';
import { silentLogger } from '../core/log.js';
import { parseCommandArgs, type Command } from './args.js';
import { numberOption, openModelFromArgs } from './model-options.js';

const HELP = `Usage: trt-detect detect -m MODEL -i INPUT [-o OUT] [--json FILE] [--events FILE] [-c FILE] [--threshold T] [--no-track]

One-shot detection on an image, a directory of images, or a video file.

Options:
  -m, --model MODEL     .onnx model (or TensorRT engine on a Jetson); overrides model.path of -c
  -i, --input INPUT     image file, directory of images, or video file
  -o, --output OUT      annotated output: a file for an image/video input (out.jpg, out.mp4),
                        a directory for a directory input
                        (default: <input name>.detected.<ext> / <input>-detected/ in the current directory)
  --json FILE           one JSON line per image or frame, in the MQTT detection-message shape;
                        on a video every detection has a track_id (objects are tracked as a
                        camera's are, a new one is reported from its 3rd detector frame on); with
                        detect.interval N (-c), the frames between inferences carry the tracks'
                        predicted boxes (drawn on them), inference_ms 0
  --events FILE         a video's object events, one JSON line each ({"type":"new"|"update"|"end",
                        "before":{...},"after":{...}}, as on MQTT's <prefix>/events; times are the
                        moment detect started plus the frame's pts)
  --no-track            a video's frames one at a time: every detection, no track_id (no --events)
  -c, --config FILE     use this config's model and detect sections
  --threshold T         score threshold (default: detect.threshold, 0.4)
  -h, --help            this help

Exit codes: 0 done, 1 runtime failure (unreadable or corrupt input), 2 bad arguments, model, or an
output path (-o, --json) that cannot be written.
`;

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.bmp']);

/**
 * The --json file: its path is checked before any work (one line, exit 2); it is created at the
 * first line, so a run that reads nothing leaves no empty file behind.
 */
class JsonLines {
  private stream: WriteStream | null = null;
  constructor(
    private readonly file: string | undefined,
    private readonly option = '--json',
  ) {}
  write(m: DetectionMessage | ObjectEvent): void {
    if (!this.file) return;
    this.stream ??= createWriteStream(this.file, { fd: this.open(this.file) });
    this.stream.write(`${JSON.stringify(m)}\n`);
  }
  private open(file: string): number {
    const problem = fileWriteProblem(file);
    if (problem) throw new ConfigError(`${this.option} ${file}: cannot write (${problem})`);
    try {
      return openSync(file, 'w');
    } catch (err) {
      throw new ConfigError(`${this.option} ${file}: cannot write (${(err as Error).message})`);
    }
  }
  /** Creates the file now if no line came (a video without objects: an empty --events file). */
  touch(): void {
    if (this.file) this.stream ??= createWriteStream(this.file, { fd: this.open(this.file) });
  }
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.stream) return resolve();
      this.stream.on('error', reject);
      this.stream.end(resolve);
    });
  }
}

function summary(name: string, m: DetectionMessage): string {
  const list = m.detections.map((d) => `${d.label} ${d.score.toFixed(2)}`).join(', ');
  return `${name}: ${m.detections.length} detection${m.detections.length === 1 ? '' : 's'}${list ? ` (${list})` : ''}`;
}

async function detectImage(detector: Detector, options: DetectOptions, input: string, output: string, json: JsonLines): Promise<DetectionMessage> {
  const img = await readImage(input);
  const frame = { data: img.data, width: img.width, height: img.height, index: 0, pts: 0 };
  const r = await detector.infer(frame, options);
  const message = detectionMessage(basename(input), frame, r.detections, r.timings.inference_ms);
  json.write(message);
  if (r.detections.length) await native.draw(img.data, img.width, img.height, drawBoxes(r.detections));
  await writeImage(output, img.data, img.width, img.height);
  return message;
}

async function detectVideo(
  detector: Detector,
  options: DetectOptions,
  interval: number,
  input: string,
  output: string,
  json: JsonLines,
  track: boolean,
  eventLines: JsonLines | null,
): Promise<number> {
  let writer: Mp4Writer | null = null;
  let frames = 0;
  let detections = 0;
  const camera = basename(input);
  let objects = 0;
  const events = eventLines
    ? new CameraEvents({
        camera,
        live: false,
        track: DEFAULT_TRACK,
        events: DEFAULT_EVENTS,
        zones: {},
        filters: {},
        snapshots: { ...DEFAULT_SNAPSHOTS, enabled: false },
        labels: [],
        sinks: () => [
          {
            event: (ev) => {
              if (ev.type === 'new') objects++;
              eventLines.write(ev);
            },
            snapshot: () => undefined,
          },
        ],
        logger: silentLogger(),
      })
    : null;
  const pipeline = new CameraPipeline(
    camera,
    {
      source: input,
      loop: false,
      detect: {
        threshold: options.threshold,
        nms_iou: options.nmsIou,
        classes: options.classes,
        interval,
        top_k: options.topK,
        drop_group_boxes: options.dropGroupBoxes ?? true,
      },
      track: track ? DEFAULT_TRACK : null,
      events,
      publishAll: true,
      publishCarried: true,
      sink: (video) => {
        writer = new Mp4Writer(output, {
          width: video.width,
          height: video.height,
          fps: video.fpsRational,
          pixelFormat: video.pixelFormat,
          timescale: video.timescale,
          atomic: true,
        });
        const w = writer;
        return {
          write: (frame, pts) => {
            frames++;
            return w.write(frame, pts);
          },
          close: () => w.finish(),
          currentFile: output,
        };
      },
    },
    detector,
    {
      status: () => undefined,
      detections: (_camera, message) => {
        detections += message.detections.length;
        json.write(message);
      },
    },
    silentLogger(),
  );
  const state = await pipeline.run();
  await events?.close();
  eventLines?.touch();
  if (state === 'error') {
    const why = pipeline.error ?? `${input}: detection failed`;
    // a file damaged part-way: the frames before the damage are annotated and kept, not thrown away
    if (writer && frames > 0 && existsSync(output)) throw new RuntimeFailure(`${why}; the ${frames} frames before it are in ${output}`);
    if (writer) await (writer as Mp4Writer).abort().catch(() => undefined);
    throw new RuntimeFailure(why);
  }
  process.stdout.write(`${input}: ${frames} frames, ${detections} detections${events ? `, ${objects} objects` : ''} -> ${output}\n`);
  return frames;
}

type Target = { kind: 'directory' | 'image' | 'video'; out: string };

/** What the input is and where its annotated output goes; a path that cannot be written is one line, exit 2. */
function outputFor(input: string, output: string | undefined): Target {
  const ext = extname(input).toLowerCase();
  const name = basename(input, extname(input));
  if (statSync(input).isDirectory()) {
    const out = output ?? `${basename(input)}-detected`;
    if (existsSync(out) && !statSync(out).isDirectory()) {
      throw new ConfigError(`-o ${out}: is a file (for a directory of images -o names the output folder)`);
    }
    return { kind: 'directory', out };
  }
  // Anything that is not an image goes to ffprobe: every container/codec ffmpeg reads is accepted.
  const kind = IMAGE_EXT.has(ext) ? 'image' : 'video';
  const out = output ?? (kind === 'image' ? `${name}.detected${ext}` : `${name}.detected.mp4`);
  const outExt = extname(out).toLowerCase();
  if (kind === 'image' && !IMAGE_EXT.has(outExt)) {
    throw new ConfigError(`-o ${out}: for an image input -o names the annotated image (.jpg, .jpeg, .png or .bmp)`);
  }
  if (kind === 'video' && outExt !== '.mp4') throw new ConfigError(`-o ${out}: for a video input -o names the annotated MP4 (out.mp4)`);
  const problem = fileWriteProblem(out);
  if (problem) throw new ConfigError(`-o ${out}: cannot write (${problem})`);
  return { kind, out };
}

export const detectCommand: Command = async (argv) => {
  const { values } = parseCommandArgs('detect', argv, {
    model: { type: 'string', short: 'm' },
    input: { type: 'string', short: 'i' },
    output: { type: 'string', short: 'o' },
    json: { type: 'string' },
    events: { type: 'string' },
    config: { type: 'string', short: 'c' },
    threshold: { type: 'string' },
    'no-track': { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const input = values.input;
  if (!input) throw new ConfigError('trt-detect detect: -i INPUT is required (an image, a directory of images or a video file)');
  if (!existsSync(input)) throw new RuntimeFailure(`${input}: not found (check -i)`);
  const threshold = numberOption('detect', 'threshold', values.threshold, 0, 1);
  const target = outputFor(input, values.output);
  const jsonFile = values.json;
  const jsonProblem = jsonFile ? fileWriteProblem(jsonFile) : null;
  if (jsonProblem) throw new ConfigError(`--json ${jsonFile}: cannot write (${jsonProblem})`);
  const eventsFile = values.events;
  if (eventsFile !== undefined && target.kind !== 'video') throw new ConfigError(`--events ${eventsFile}: object events need a video input (-i), not images`);
  if (eventsFile !== undefined && values['no-track']) throw new ConfigError('--events: object events need tracking (leave out --no-track)');
  const eventsProblem = eventsFile ? fileWriteProblem(eventsFile) : null;
  if (eventsProblem) throw new ConfigError(`--events ${eventsFile}: cannot write (${eventsProblem})`);
  const { detector, options, interval } = await openModelFromArgs('detect', values, { threshold, withVideo: target.kind === 'video' });
  const json = new JsonLines(jsonFile);
  const eventLines = eventsFile ? new JsonLines(eventsFile, '--events') : null;
  try {
    if (target.kind === 'directory') {
      const images = await listImages(input);
      if (images.length === 0) throw new RuntimeFailure(`${input}: no images (.jpg, .jpeg, .png, .bmp) in this directory`);
      try {
        makeDirs(target.out);
      } catch (err) {
        throw new ConfigError(`-o ${target.out}: cannot create the output folder (${err instanceof FolderError ? err.message : String(err)})`);
      }
      // one unreadable image is one line on stderr; the others are still done
      const failed: string[] = [];
      for (const img of images) {
        try {
          const m = await detectImage(detector, options, img, join(target.out, basename(img)), json);
          process.stdout.write(`${summary(basename(img), m)}\n`);
        } catch (err) {
          if (!(err instanceof RuntimeFailure)) throw err;
          failed.push(img);
          process.stderr.write(`${err.message}\n`);
        }
      }
      const done = images.length - failed.length;
      process.stdout.write(`${done} images -> ${target.out}\n`);
      if (failed.length > 0)
        throw new RuntimeFailure(`${input}: ${failed.length} of ${images.length} images failed (above); the other ${done} are in ${target.out}`);
    } else if (target.kind === 'image') {
      const m = await detectImage(detector, options, input, target.out, json);
      process.stdout.write(`${summary(basename(input), m)} -> ${target.out}\n`);
    } else {
      await detectVideo(detector, options, interval, input, target.out, json, !values['no-track'], eventLines);
    }
  } finally {
    await json.close();
    await eventLines?.close();
    await detector.close();
  }
  return 0;
};

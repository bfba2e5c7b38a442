import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Detector, InferResult } from '../../daemon/detect/types.js';
import type { Frame } from '../../daemon/core/frame.js';
import { CameraPipeline } from '../../daemon/service/camera-pipeline.js';
import { silentLogger } from '../../daemon/core/log.js';
import type { DetectionMessage } from '../../daemon/sinks/detection-message.js';
import { makeTestVideo, tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('camera-pipeline');
afterAll(cleanup);
const FRAMES = 36;
const clip = makeTestVideo(join(dir, 'clip.mp4'), { width: 160, height: 120, fps: 25, frames: FRAMES });

/**
 * A detector that counts how many frames it has at once, driven by events rather than time: it
 * holds every call until `hold` calls are pending (or the last call of the clip has come), then
 * answers them all. A pipeline that overlaps fewer inferences than `hold` never fills the gate and
 * the test times out; `max` above `hold` means the pipeline sent more than it may.
 */
function countingDetector(hold: number, totalCalls: number) {
  let now = 0;
  const seen = { max: 0, calls: 0 };
  let waiting: Array<() => void> = [];
  const detector: Detector = {
    info: {
      path: 'counting',
      backend: 'onnxruntime',
      inputName: 'input',
      inputWidth: 16,
      inputHeight: 16,
      layout: 'scores_boxes',
      outputNames: [],
      labels: ['background', 'thing'],
      modelLabels: ['background', 'thing'],
      ignoreClasses: [0],
    },
    async infer(frame: Frame): Promise<InferResult> {
      seen.calls++;
      seen.max = Math.max(seen.max, ++now);
      await new Promise<void>((release) => {
        waiting.push(release);
        if (waiting.length >= hold || seen.calls === totalCalls) {
          const all = waiting;
          waiting = [];
          // answered a turn later, so that a pipeline sending more than it may shows it in `max`
          setImmediate(() => all.forEach((r) => r()));
        }
      });
      now--;
      const box = { x1: 1, y1: 1, x2: 10, y2: 10 };
      return {
        detections: [{ label: 'thing', class_id: 1, score: 0.9, box: { ...box, x1: frame.index } }],
        timings: { preprocess_ms: 1, inference_ms: 10, postprocess_ms: 1 },
      };
    },
    close: async () => undefined,
  };
  return { detector, seen };
}

async function runWithInterval(interval: number, hold: number) {
  const { detector, seen } = countingDetector(hold, Math.ceil(FRAMES / (interval + 1)));
  const messages: DetectionMessage[] = [];
  const pipe = new CameraPipeline(
    'cam',
    {
      source: clip,
      loop: false,
      detect: { threshold: 0.4, nms_iou: 0.45, classes: [], interval, top_k: 200 },
      publishAll: true,
      publishCarried: true,
      sink: null,
    },
    detector,
    { status: () => undefined, detections: (_camera, m) => messages.push(m) },
    silentLogger(),
  );
  await pipe.run();
  expect(pipe.currentState).toBe('ended');
  return { seen, messages };
}

describe('CameraPipeline detect stage (real file source, a stand-in detector)', () => {
  it.each([
    [0, 2],
    [1, 2],
    [2, 2],
    // the frames between two inferences wait in the stage too: at most 8, so one inference at a time
    [9, 1],
  ])('interval %i: up to %i inferences at once; every frame in order with the boxes of the inference before it', async (interval, concurrent) => {
    const { seen, messages } = await runWithInterval(interval, concurrent);
    expect(seen.max).toBe(concurrent);
    expect(seen.calls).toBe(Math.ceil(FRAMES / (interval + 1)));
    expect(messages.map((m) => m.frame)).toEqual(Array.from({ length: FRAMES }, (_, i) => i));
    for (const m of messages) {
      const inferredAt = m.frame - (m.frame % (interval + 1));
      expect(m.detections.map((d) => d.box.x1)).toEqual([inferredAt]);
    }
  });
});

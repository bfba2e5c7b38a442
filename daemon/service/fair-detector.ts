import type { DetectOptions, Detector, InferResult, ModelInfo } from '../detect/types.js';
import type { Frame } from '../core/frame.js';

interface Job {
  frame: Frame;
  options: DetectOptions;
  resolve: (r: InferResult) => void;
  reject: (err: unknown) => void;
}

/**
 * One detector shared by every camera, fairly: each camera has its own queue and the detector
 * serves the cameras in turn (round-robin). A fast camera that submits many frames waits behind
 * one frame of each other camera, never the other way round. Up to `depth` calls are handed to the
 * backend at once (default 2), so it can pre-process the next frame while it infers this one; the
 * backends still run the model on one frame at a time, in the order they were handed them.
 */
export class FairDetector {
  private readonly queues = new Map<string, Job[]>();
  private order: string[] = [];
  /** the camera served last; the turn passes to the one after it */
  private last: string | null = null;
  private inFlight = 0;
  private scheduled = false;
  /** inferences run per camera */
  readonly served = new Map<string, number>();

  constructor(
    public target: Detector,
    private readonly depth = 2,
  ) {}

  /** The detector as one camera sees it (closing it does not close the shared one). */
  forCamera(camera: string): Detector {
    const info = (): ModelInfo => this.target.info;
    return {
      get info(): ModelInfo {
        return info();
      },
      infer: (frame, options) => this.submit(camera, frame, options),
      close: () => {
        this.forget(camera);
        return Promise.resolve();
      },
    };
  }

  submit(camera: string, frame: Frame, options: DetectOptions): Promise<InferResult> {
    return new Promise((resolve, reject) => {
      let q = this.queues.get(camera);
      if (!q) {
        q = [];
        this.queues.set(camera, q);
        this.order.push(camera);
      }
      q.push({ frame, options, resolve, reject });
      // frames submitted in the same tick by several cameras are all queued before the first pick
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  /** Drops a camera's queue (its pipeline stopped); queued frames are rejected. */
  forget(camera: string): void {
    const q = this.queues.get(camera);
    this.queues.delete(camera);
    this.order = this.order.filter((c) => c !== camera);
    for (const j of q ?? []) j.reject(new Error(`camera ${camera} stopped`));
  }

  private pick(): [string, Job] | null {
    const start = this.last === null ? 0 : this.order.indexOf(this.last) + 1;
    for (let i = 0; i < this.order.length; i++) {
      const camera = this.order[(start + i) % this.order.length];
      const job = this.queues.get(camera)?.shift();
      if (job) {
        this.last = camera;
        return [camera, job];
      }
    }
    return null;
  }

  private pump(): void {
    while (this.inFlight < this.depth) {
      const p = this.pick();
      if (!p) return;
      const [camera, job] = p;
      this.inFlight++;
      void Promise.resolve()
        .then(() => this.target.infer(job.frame, job.options))
        .then(
          (r) => {
            this.served.set(camera, (this.served.get(camera) ?? 0) + 1);
            job.resolve(r);
          },
          (err: unknown) => job.reject(err),
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }
}

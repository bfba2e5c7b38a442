import type { DetectOptions, Detector, Frame, InferResult, ModelInfo } from '../detect/types.js';

interface Job {
  frame: Frame;
  options: DetectOptions;
  resolve: (r: InferResult) => void;
  reject: (err: unknown) => void;
}

/**
 * One detector shared by every camera, fairly: each camera has its own queue and the detector
 * serves the cameras in turn (round-robin), one inference at a time. A fast camera that submits
 * many frames waits behind one frame of each other camera, never the other way round. Whatever
 * the backend does with concurrent calls, the model sees one frame at a time.
 */
export class FairDetector {
  private readonly queues = new Map<string, Job[]>();
  private order: string[] = [];
  /** the camera served last; the turn passes to the one after it */
  private last: string | null = null;
  private busy = false;
  /** inferences run per camera */
  readonly served = new Map<string, number>();

  constructor(public target: Detector) {}

  /** The detector as one camera sees it (closing it does not close the shared one). */
  forCamera(camera: string): Detector {
    const shared = this;
    return {
      get info(): ModelInfo {
        return shared.target.info;
      },
      infer: (frame, options) => this.submit(camera, frame, options),
      close: async () => this.forget(camera),
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
      void this.pump();
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

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (let p = this.pick(); p; p = this.pick()) {
        const [camera, job] = p;
        try {
          job.resolve(await this.target.infer(job.frame, job.options));
          this.served.set(camera, (this.served.get(camera) ?? 0) + 1);
        } catch (err) {
          job.reject(err);
        }
      }
    } finally {
      this.busy = false;
    }
  }
}

/**
 * /api/cameras/<camera>/latest.jpg: each camera's latest annotated frame as a JPEG. Nothing is
 * encoded while nobody asks: a request marks the camera wanted, the pipeline hands over its next
 * annotated frame (one copy of the pixels), and one ffmpeg process encodes it off the event loop.
 * At most `maxFps` encodes a second per camera; requests in between get the cached JPEG, and every
 * request waiting for the same frame shares one encode.
 */
import type { Frame } from '../core/frame.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { encodeJpeg } from '../media/image-io.js';

interface CameraJpeg {
  jpeg: Buffer | null;
  /** when `jpeg` was taken (ms) */
  at: number;
  /** requests waiting for the next frame */
  waiters: Array<(jpeg: Buffer | null) => void>;
  encoding: boolean;
}

/** requests waiting for one camera's next frame at most; more get the cached JPEG at once */
const MAX_WAITERS = 64;

export class LatestJpegs {
  private readonly cameras = new Map<string, CameraJpeg>();
  /** JPEGs encoded so far (tests, stats) */
  encoded = 0;

  constructor(
    private readonly maxFps: number,
    private readonly logger: Logger,
  ) {}

  private cam(camera: string): CameraJpeg {
    let c = this.cameras.get(camera);
    if (!c) this.cameras.set(camera, (c = { jpeg: null, at: 0, waiters: [], encoding: false }));
    return c;
  }

  /** Asked by the camera pipeline for every frame: true when it should hand this one over. Cheap. */
  wants(camera: string): boolean {
    const c = this.cameras.get(camera);
    return c !== undefined && c.waiters.length > 0 && !c.encoding;
  }

  /** The pipeline's annotated frame, while wanted: the pixels are copied here, encoded later. */
  offer(camera: string, frame: Frame): void {
    const c = this.cameras.get(camera);
    if (!c || c.encoding || c.waiters.length === 0) return;
    c.encoding = true;
    const pixels = Buffer.from(frame.data);
    const { width, height, format } = frame;
    encodeJpeg(pixels, width, height, format ?? 'rgb24', 5)
      .then(
        (jpeg) => {
          this.encoded++;
          c.jpeg = jpeg;
          c.at = Date.now();
          return jpeg;
        },
        (err: unknown) => {
          this.logger.warn({ camera, err: errorMessage(err) }, 'latest.jpg: encoding failed');
          return c.jpeg;
        },
      )
      .then((jpeg) => {
        c.encoding = false;
        for (const w of c.waiters.splice(0)) w(jpeg);
      })
      .catch(() => undefined);
  }

  /**
   * The camera's latest JPEG: the cached one while it is younger than 1/maxFps s, else the next
   * frame's (waiting at most `timeoutMs`, then the cached one, or null when there is none).
   */
  get(camera: string, timeoutMs = 3000): Promise<Buffer | null> {
    const c = this.cam(camera);
    if (c.jpeg && Date.now() - c.at < 1000 / this.maxFps) return Promise.resolve(c.jpeg);
    if (c.waiters.length >= MAX_WAITERS) return Promise.resolve(c.jpeg);
    return new Promise((resolve) => {
      let done = false;
      const finish = (jpeg: Buffer | null) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(jpeg);
      };
      const timer = setTimeout(() => {
        const i = c.waiters.indexOf(finish);
        if (i >= 0) c.waiters.splice(i, 1);
        finish(c.jpeg);
      }, timeoutMs);
      c.waiters.push(finish);
    });
  }

  /** Forgets a camera (removed by a reload). */
  forget(camera: string): void {
    const c = this.cameras.get(camera);
    if (!c) return;
    for (const w of c.waiters.splice(0)) w(c.jpeg);
    this.cameras.delete(camera);
  }
}

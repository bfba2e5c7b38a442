/**
 * Retention of a camera's snapshot files (<snapshots.path>/<camera>/*.jpg): files older than
 * `retain_days` are deleted, then the oldest while the folder holds more than `max_mb`. Runs when
 * the camera starts, every 10 minutes, and after every 20 snapshots written; asynchronous file
 * calls only, one sweep at a time.
 */
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';

const SWEEP_EVERY_MS = 10 * 60 * 1000;
const SWEEP_AFTER_WRITES = 20;

export interface RetentionResult {
  kept: number;
  deleted: number;
  bytes: number;
}

/** One sweep of `dir`: what it keeps and deletes. A missing folder is empty. */
export async function sweepSnapshots(dir: string, retainDays: number, maxMb: number, now = Date.now()): Promise<RetentionResult> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kept: 0, deleted: 0, bytes: 0 };
    throw err;
  }
  const files: Array<{ file: string; mtime: number; size: number }> = [];
  for (const n of names) {
    if (!n.endsWith('.jpg') || n.startsWith('.')) continue;
    const file = join(dir, n);
    const s = await stat(file).catch(() => null);
    if (s?.isFile()) files.push({ file, mtime: s.mtimeMs, size: s.size });
  }
  files.sort((a, b) => a.mtime - b.mtime);
  let bytes = files.reduce((sum, f) => sum + f.size, 0);
  const limit = maxMb > 0 ? maxMb * 1024 * 1024 : Infinity;
  const cutoff = retainDays > 0 ? now - retainDays * 86_400_000 : -Infinity;
  let deleted = 0;
  for (const f of files) {
    if (f.mtime >= cutoff && bytes <= limit) break;
    await unlink(f.file).catch(() => undefined);
    bytes -= f.size;
    deleted++;
  }
  return { kept: files.length - deleted, deleted, bytes };
}

export class SnapshotRetention {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private writes = 0;

  constructor(
    private readonly dir: string,
    private readonly retainDays: number,
    private readonly maxMb: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.sweep();
    this.timer = setInterval(() => this.sweep(), SWEEP_EVERY_MS);
    this.timer.unref();
  }

  /** A snapshot was written: sweep after every SWEEP_AFTER_WRITES of them. */
  wrote(): void {
    if (++this.writes % SWEEP_AFTER_WRITES === 0) this.sweep();
  }

  sweep(): void {
    if (this.running || (this.retainDays <= 0 && this.maxMb <= 0)) return;
    this.running = sweepSnapshots(this.dir, this.retainDays, this.maxMb)
      .then((r) => {
        if (r.deleted > 0) this.logger.info({ dir: this.dir, deleted: r.deleted, kept: r.kept, mb: Math.round(r.bytes / 1048576) }, 'old snapshots deleted');
      })
      .catch((err: unknown) => this.logger.warn({ dir: this.dir, error: errorMessage(err) }, 'snapshot retention failed'))
      .finally(() => (this.running = null));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}

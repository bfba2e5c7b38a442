/**
 * systemd integration (Type=notify): READY=1 once the daemon is really up, STATUS= summary lines,
 * RELOADING=1/READY=1 around a reload, STOPPING=1 on stop, and WATCHDOG=1 pings from a timer while
 * the pipelines make progress. The pings come from a timer on the event loop, so a blocked loop
 * stops them too; a camera that is `streaming` but has finished no frame for a whole ping period
 * (a wedged decoder, detector or encoder) stops them on purpose, and systemd restarts the service
 * once WatchdogSec passes without one. Without $NOTIFY_SOCKET (not under systemd) it does nothing.
 */
import { errorMessage } from '../core/errors.js';
import { sdNotify } from '../native.js';
import type { Logger } from '../core/log.js';
import type { CameraView, ServiceView } from './metrics.js';

export interface NotifierOptions {
  view: ServiceView;
  logger: Logger;
  /** sends one datagram; default: the addon's sd_notify to $NOTIFY_SOCKET */
  send?: (state: string) => boolean;
  /** where NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID are read; default process.env */
  env?: NodeJS.ProcessEnv;
  /** STATUS= refresh period when no watchdog is configured (ms); default 10 s */
  statusIntervalMs?: number;
}

interface Progress {
  value: number;
  /** when `value` last changed, or the camera (re)entered `streaming` */
  since: number;
}

/**
 * The watchdog interval systemd asks for, from WATCHDOG_USEC (and WATCHDOG_PID when set: the pings
 * are for that process only). Null when there is no watchdog for this process.
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid = process.pid): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return null;
  return usec / 1000;
}

/** "2/3 cameras streaming, 24.5 fps; front reconnecting" */
export function statusSummary(cameras: CameraView[]): string {
  if (!cameras.length) return 'no cameras enabled';
  const streaming = cameras.filter((c) => c.state === 'streaming');
  const fps = streaming.reduce((sum, c) => sum + (c.stats?.fps ?? 0), 0);
  const others = cameras.filter((c) => c.state !== 'streaming').map((c) => `${c.name} ${c.state}`);
  return `${streaming.length}/${cameras.length} cameras streaming, ${fps.toFixed(1)} fps${others.length ? `; ${others.join(', ')}` : ''}`;
}

/** How much more time each EXTEND_TIMEOUT_USEC asks for, and how often it is sent, during a long step. */
export const EXTEND_MS = 60_000;
export const EXTEND_EVERY_MS = 20_000;

export class ServiceNotifier {
  readonly enabled: boolean;
  /** the WatchdogSec systemd gave this process, in ms; null = none */
  readonly watchdogMs: number | null;
  private readonly send: (state: string) => boolean;
  private readonly progress = new Map<string, Progress>();
  private timer: NodeJS.Timeout | null = null;
  private sendFailed = false;
  private wedgedBefore = new Set<string>();
  private stopped = false;
  private lastTick = 0;
  private extendTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: NotifierOptions) {
    const env = opts.env ?? process.env;
    this.enabled = Boolean(env.NOTIFY_SOCKET);
    this.watchdogMs = this.enabled ? watchdogIntervalMs(env) : null;
    this.send = opts.send ?? sdNotify;
  }

  /** How often the timer runs: half of WatchdogSec with a watchdog, else the status period. */
  get tickMs(): number {
    return this.watchdogMs !== null ? Math.max(50, this.watchdogMs / 2) : (this.opts.statusIntervalMs ?? 10_000);
  }

  private notify(state: string): void {
    if (!this.enabled) return;
    try {
      this.send(state);
      this.sendFailed = false;
    } catch (err) {
      // log once per failure streak: systemd going away must not flood the journal
      if (!this.sendFailed) this.opts.logger.warn({ err: errorMessage(err) }, 'sd_notify failed');
      this.sendFailed = true;
    }
  }

  /** STATUS= only (e.g. while starting up). */
  status(line: string): void {
    this.notify(`STATUS=${line}`);
  }

  /** READY=1 with a status line; starts the watchdog/status timer. */
  ready(): void {
    if (this.stopped) return;
    this.wedged(Date.now()); // take the current progress as the baseline
    this.notify(`READY=1\nSTATUS=${statusSummary(this.opts.view.cameras())}`);
    if (this.enabled && !this.timer) {
      this.timer = setInterval(() => this.tick(), this.tickMs);
      // the timer must not keep a stopping process alive
      this.timer.unref();
    }
  }

  reloading(): void {
    this.notify('RELOADING=1\nSTATUS=reloading the configuration');
  }

  /** After a reload (applied or rejected): back to READY=1. */
  reloaded(): void {
    this.ready();
  }

  stopping(reason?: string): void {
    this.stopped = true;
    this.close();
    this.notify(`STOPPING=1\nSTATUS=stopping${reason ? ` (${reason})` : ''}`);
  }

  /** Stops the timers (no more pings). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.longStep(null);
  }

  /**
   * While a long step runs (`what`, e.g. a TensorRT engine build: minutes on a Jetson Nano), asks
   * systemd for more start-up time: EXTEND_TIMEOUT_USEC for EXTEND_MS every EXTEND_EVERY_MS, so
   * TimeoutStartSec cannot run out and restart the build forever, while a process that really hangs
   * elsewhere still times out. `null` ends the step (the timeout in force is systemd's again).
   */
  longStep(what: string | null): void {
    if (this.extendTimer) clearInterval(this.extendTimer);
    this.extendTimer = null;
    if (what === null || !this.enabled || this.stopped) return;
    const started = Date.now();
    const extend = () =>
      this.notify(`EXTEND_TIMEOUT_USEC=${EXTEND_MS * 1000}\nSTATUS=${what} (${Math.round((Date.now() - started) / 1000)} s so far; minutes on a Jetson Nano)`);
    extend();
    this.extendTimer = setInterval(extend, EXTEND_EVERY_MS);
    this.extendTimer.unref();
  }

  /**
   * The streaming cameras that have finished no frame for longer than one tick. Updates the
   * progress bookkeeping, so call it once per tick.
   */
  wedged(now: number): string[] {
    const limit = this.tickMs;
    const out: string[] = [];
    const seen = new Set<string>();
    for (const cam of this.opts.view.cameras()) {
      seen.add(cam.name);
      const p = this.progress.get(cam.name);
      if (cam.state !== 'streaming' || !p || p.value !== cam.progress) {
        // waiting is legitimate outside `streaming` (opening, reconnecting, ended): restart the clock
        this.progress.set(cam.name, { value: cam.progress, since: now });
        continue;
      }
      if (now - p.since > limit) out.push(cam.name);
    }
    for (const name of [...this.progress.keys()]) if (!seen.has(name)) this.progress.delete(name);
    return out;
  }

  /** One timer tick: WATCHDOG=1 (when due and everything progresses) and STATUS=. */
  tick(now = Date.now()): void {
    if (this.stopped) return;
    // a late tick means the event loop was blocked: while it is, no ping goes out at all
    if (this.lastTick && now - this.lastTick > 1.5 * this.tickMs) {
      this.opts.logger.warn({ late_ms: Math.round(now - this.lastTick - this.tickMs) }, 'event loop was blocked: the watchdog/status timer ran late');
    }
    this.lastTick = now;
    const cameras = this.opts.view.cameras();
    const wedged = this.wedged(now);
    const fresh = wedged.filter((n) => !this.wedgedBefore.has(n));
    if (fresh.length) {
      this.opts.logger.error(
        { cameras: wedged },
        `camera pipeline stalled: ${wedged.join(', ')} finished no frame for ${Math.round(this.tickMs / 1000)} s${this.watchdogMs !== null ? ' (watchdog pings stop; systemd restarts the service)' : ''}`,
      );
    }
    if (!wedged.length && this.wedgedBefore.size) this.opts.logger.info('camera pipelines progress again');
    this.wedgedBefore = new Set(wedged);
    if (wedged.length) {
      this.notify(`STATUS=stalled: ${wedged.join(', ')} made no progress`);
      return;
    }
    this.notify(`${this.watchdogMs !== null ? 'WATCHDOG=1\n' : ''}STATUS=${statusSummary(cameras)}`);
  }
}

/**
 * Resolves once no enabled camera is `starting` any more (each source opened, failed or is
 * reconnecting), or after `timeoutMs`: READY=1 should mean the cameras are really running.
 */
export async function untilSourcesStarted(view: ServiceView, timeoutMs: number, pollMs = 100): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (!view.cameras().some((c) => c.state === 'starting')) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

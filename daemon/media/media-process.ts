import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * The decoder and encoder processes (ffmpeg, gst-launch-1.0) of the cameras and recordings.
 *
 * They run `media.nice` steps nicer than the daemon (config key, default 10). On a machine whose
 * cores are shared between video work and the detector, equal priorities make the inference
 * thread queue behind ffmpeg's threads for a quarter of its time (measured with schedstat on the
 * 2-core bench machine, while the cores were only 70-80 % busy); a nicer encoder gives the
 * detector the core when it wakes, and takes its share back while the detector waits.
 * Nice is a weight, not a ban: with the cores saturated an encoder at nice 10 still gets about a
 * tenth of a core against each busy thread at nice 0.
 */

/** `media.nice` when the config does not set it */
export const DEFAULT_MEDIA_NICE = 10;

let mediaNice = 0;

type SpawnListener = (proc: ChildProcess) => void;
const spawnListeners = new Set<SpawnListener>();

/**
 * Calls `listener` with every decoder or encoder process started from now on (the bench's
 * classic loop holds them between its stages); returns the function that stops it.
 */
export function onMediaSpawn(listener: SpawnListener): () => void {
  spawnListeners.add(listener);
  return () => void spawnListeners.delete(listener);
}

/** How much nicer than the daemon (0-19) media processes started from now on run. */
export function setMediaNice(steps: number): void {
  mediaNice = Math.max(0, Math.min(19, Math.trunc(steps)));
}

export function getMediaNice(): number {
  return mediaNice;
}

/** `spawn` for a decoder or encoder: the same process, made `media.nice` steps nicer at once. */
export function spawnMedia(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const proc = spawn(command, args, options);
  if (mediaNice > 0 && proc.pid !== undefined) renice(proc.pid, mediaNice);
  for (const listener of spawnListeners) listener(proc);
  return proc;
}

/**
 * Makes process `pid` `steps` nicer than this one (at most 19). Linux applies a priority to one
 * thread, and threads inherit their creator's: the main thread is reniced first (before ffmpeg
 * opens its codecs and starts their threads, as this runs right after exec), then every thread
 * already there. Returns false when the process is gone or the system refused.
 */
export function renice(pid: number, steps: number): boolean {
  const target = Math.min(19, getPriority() + steps);
  try {
    setPriority(pid, target);
  } catch {
    return false;
  }
  for (const tid of threadIds(pid)) {
    if (tid === pid) continue;
    try {
      setPriority(tid, target);
    } catch {
      // that thread ended in between
    }
  }
  return true;
}

/** The process's thread ids where /proc lists them (Linux); elsewhere the priority is per process. */
export function threadIds(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number).filter(Number.isInteger);
  } catch {
    return [];
  }
}

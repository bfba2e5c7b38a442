import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * What this machine offers for video: is it a Jetson, is GStreamer installed, which of its
 * elements exist. Looked up once and cached (each look-up runs at most one short child process).
 */

export interface Platform {
  jetson: boolean;
  /** e.g. "NVIDIA Jetson Nano Developer Kit", when known */
  model: string | null;
  /** gst-launch-1.0 on PATH */
  gstreamer: boolean;
  /** whether a GStreamer element is installed (gst-inspect-1.0 --exists) */
  hasElement(name: string): boolean;
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').replace(/\0/g, '').trim();
  } catch {
    return null;
  }
}

/** Finds an executable in `firstDirs` (e.g. /usr/sbin, often missing from PATH), then on PATH. */
export function which(name: string, firstDirs: string[] = []): string | null {
  for (const dir of [...firstDirs, ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)]) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** A Jetson is recognised by L4T's release file or the device-tree model name. */
export function detectJetson(files: { tegraRelease?: string; deviceTreeModel?: string } = {}): { jetson: boolean; model: string | null } {
  const release = readText(files.tegraRelease ?? '/etc/nv_tegra_release');
  const model = readText(files.deviceTreeModel ?? '/proc/device-tree/model');
  const jetson = release !== null || /jetson|tegra/i.test(model ?? '');
  return { jetson, model: model || (release ? 'NVIDIA Jetson (L4T)' : null) };
}

let cached: Platform | null = null;

export function platform(): Platform {
  if (cached) return cached;
  const { jetson, model } = detectJetson();
  const gstreamer = which('gst-launch-1.0') !== null;
  const inspect = which('gst-inspect-1.0');
  const elements = new Map<string, boolean>();
  cached = {
    jetson,
    model,
    gstreamer,
    hasElement(name: string): boolean {
      if (!inspect) return false;
      let found = elements.get(name);
      if (found === undefined) {
        try {
          execFileSync(inspect, ['--exists', name], { stdio: 'ignore', timeout: 10_000 });
          found = true;
        } catch {
          found = false;
        }
        elements.set(name, found);
      }
      return found;
    },
  };
  return cached;
}

/** For tests: a platform with the given facts. */
export function fakePlatform(facts: { jetson: boolean; gstreamer: boolean; elements?: string[] }): Platform {
  const set = new Set(facts.elements ?? []);
  return { jetson: facts.jetson, model: facts.jetson ? 'NVIDIA Jetson Nano Developer Kit' : null, gstreamer: facts.gstreamer, hasElement: (n) => set.has(n) };
}

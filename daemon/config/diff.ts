import type { Config } from './types.js';

/** What a reload (SIGHUP) changes: cameras by name, and the other top-level sections that differ. */
export interface ConfigDiff {
  added: string[];
  removed: string[];
  /** cameras whose settings differ, including their effective detect settings */
  changed: string[];
  unchanged: string[];
  /** top-level sections other than cameras that changed (model, detect, mqtt, rtsp_server, http, media, log, base_dir) */
  globalChanged: string[];
}

/** Deep equality of plain JSON-like values (objects compared key by key, arrays in order). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export function diffConfigs(a: Config, b: Config): ConfigDiff {
  const diff: ConfigDiff = { added: [], removed: [], changed: [], unchanged: [], globalChanged: [] };
  for (const name of Object.keys(b.cameras)) {
    if (!(name in a.cameras)) diff.added.push(name);
    else if (sameValue(a.cameras[name], b.cameras[name])) diff.unchanged.push(name);
    else diff.changed.push(name);
  }
  for (const name of Object.keys(a.cameras)) if (!(name in b.cameras)) diff.removed.push(name);
  const sections = new Set([...Object.keys(a), ...Object.keys(b)]);
  sections.delete('cameras');
  for (const key of sections) {
    if (!sameValue((a as unknown as Record<string, unknown>)[key], (b as unknown as Record<string, unknown>)[key])) diff.globalChanged.push(key);
  }
  return diff;
}

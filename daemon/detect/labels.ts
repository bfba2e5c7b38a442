import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { ConfigError } from '../errors.js';

/** `<model file name without extension>.labels.txt` beside the model (SPEC section 4). */
export function labelFileFor(modelPath: string): string {
  return join(dirname(modelPath), `${basename(modelPath, extname(modelPath))}.labels.txt`);
}

/**
 * The model's labels: `model.labels` from the config when given, else the label file beside the
 * model, else `class_<i>` names for `numClasses` classes.
 */
export function resolveLabels(modelPath: string, configured: string[] | null | undefined, numClasses: number | null): string[] {
  if (configured && configured.length > 0) return configured;
  const file = labelFileFor(modelPath);
  if (existsSync(file)) {
    const labels = readFileSync(file, 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l, i, all) => l.length > 0 || i < all.length - 1);
    if (labels.length === 0) throw new ConfigError(`${file}: label file is empty (one label a line, or set model.labels)`);
    return labels;
  }
  return Array.from({ length: numClasses ?? 0 }, (_, i) => `class_${i}`);
}

/**
 * Class ids that are never reported: labels named "background" (any case), and class 0 of a
 * `scores_boxes` model, which that layout defines as the background class whatever its label.
 */
export function backgroundIds(labels: string[], layout: string): number[] {
  const ids = labels.flatMap((l, i) => (l.trim().toLowerCase() === 'background' ? [i] : []));
  return layout === 'scores_boxes' && !ids.includes(0) ? [0, ...ids] : ids;
}

/** Maps `detect.classes` names (or numeric ids) to class ids; unknown names are config errors. */
export function classIdsFor(names: Array<string | number>, labels: string[]): number[] {
  return names.map((n) => {
    if (typeof n === 'number' || /^\d+$/.test(n)) return Number(n);
    const id = labels.findIndex((l) => l.toLowerCase() === n.toLowerCase());
    if (id < 0) throw new ConfigError(`detect.classes: unknown class "${n}" (the model's labels are ${labels.join(', ')})`);
    return id;
  });
}

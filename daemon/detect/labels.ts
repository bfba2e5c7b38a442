import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { registryModelForFile } from '../models/registry.js';
import type { LayoutBinding } from './layouts.js';

/** `<model file name without extension>.labels.txt` beside the model (docs/mqtt.md). */
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

/** `model.label_map`: auto (the pulled model's own default map, else none), none, or model label -> reported label. */
export type LabelMapSetting = 'auto' | 'none' | Record<string, string>;

const isBackground = (label: string | undefined): boolean => label !== undefined && label.trim().toLowerCase() === 'background';

/**
 * Whether class 0 of a `scores_boxes` model is a background column (softmax SSDs exported from
 * PyTorch: jetson-inference's BACKGROUND line, torchvision's __background__) rather than a real
 * class (TensorFlow SSDs with per-class sigmoid scores, COCO's person): it is background unless
 * the model's labels name class 0 as something else.
 */
export function hasBackgroundColumn(labels: string[], labelsGiven: boolean): boolean {
  return !labelsGiven || /^(_*background_*|bg)$/i.test(labels[0]?.trim() ?? '');
}

/** What a backend needs to report a model's classes. */
export interface ModelClasses {
  /** the reported label per class id (after model.label_map) */
  labels: string[];
  /** the model's own label per class id */
  modelLabels: string[];
  /** class ids never reported: background, and labels the label map drops */
  ignoreClasses: number[];
  /** the label map in force, null for none */
  labelMap: Record<string, string> | null;
  /** NMS group per class id: the first class id reported under the same label (car, bus, truck -> vehicle) */
  nmsGroups: number[];
}

/**
 * The model's classes for a bound layout: labels from the config or the label file (their number
 * checked against a scores_boxes model's score columns), background ids, and `model.label_map`.
 * Every problem is a ConfigError naming the file or key.
 */
export function modelClasses(
  modelPath: string,
  binding: LayoutBinding,
  configured: string[] | null | undefined,
  labelMap: LabelMapSetting = 'auto',
): ModelClasses {
  const numClasses = binding.layout === 'scores_boxes' ? binding.numClasses : null;
  const modelLabels = resolveLabels(modelPath, configured, numClasses);
  if (numClasses !== null && modelLabels.length !== numClasses) {
    throw new ConfigError(
      `${modelPath}: the model has ${numClasses} classes but ${modelLabels.length} labels were given (fix model.labels or the .labels.txt file)`,
    );
  }
  const labelsGiven = (configured?.length ?? 0) > 0 || existsSync(labelFileFor(modelPath));
  const ignore = new Set(modelLabels.flatMap((l, i) => (isBackground(l) ? [i] : [])));
  if (binding.layout === 'scores_boxes' && hasBackgroundColumn(modelLabels, labelsGiven)) ignore.add(0);

  const map = labelMap === 'auto' ? (registryModelForFile(modelPath)?.defaultLabelMap ?? null) : labelMap === 'none' ? null : labelMap;
  let labels = modelLabels;
  if (map) {
    const byName = new Map(Object.entries(map).map(([from, to]) => [from.trim().toLowerCase(), to]));
    for (const from of byName.keys()) {
      if (!modelLabels.some((l) => l.trim().toLowerCase() === from)) {
        throw new ConfigError(
          `model.label_map: "${from}" is not a label of ${modelPath} (its labels are ${modelLabels.slice(0, 12).join(', ')}${modelLabels.length > 12 ? ', ...' : ''})`,
        );
      }
    }
    labels = modelLabels.map((l, i) => {
      const to = byName.get(l.trim().toLowerCase());
      if (to === undefined) ignore.add(i);
      return to ?? l;
    });
  }
  const firstWith = new Map<string, number>();
  labels.forEach((l, i) => firstWith.has(l) || firstWith.set(l, i));
  const nmsGroups = labels.map((l) => firstWith.get(l) ?? 0);
  return { labels, modelLabels, ignoreClasses: [...ignore].sort((a, b) => a - b), labelMap: map, nmsGroups };
}

/** The distinct labels a model reports (ignored classes left out), in class order. */
export function reportedLabels(info: { labels: string[]; ignoreClasses: number[] }): string[] {
  return [...new Set(info.labels.filter((_, i) => !info.ignoreClasses.includes(i)))];
}

/**
 * Maps `detect.classes` names (reported labels, after model.label_map) or numeric ids to class
 * ids: every class reported under that name (car, bus and truck for "vehicle"). Names nothing is
 * reported as are config errors.
 */
export function classIdsFor(names: Array<string | number>, labels: string[], ignoreClasses: number[] = []): number[] {
  const reported = labels.map((l, i) => (ignoreClasses.includes(i) ? null : l.toLowerCase()));
  return names.flatMap((n) => {
    if (typeof n === 'number' || /^\d+$/.test(n)) return [Number(n)];
    const ids = reported.flatMap((l, i) => (l === n.toLowerCase() ? [i] : []));
    if (ids.length === 0) {
      const names = reportedLabels({ labels, ignoreClasses });
      throw new ConfigError(
        `detect.classes: unknown class "${n}" (the model's labels are ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', ...' : ''})`,
      );
    }
    return ids;
  });
}

/**
 * The TensorRT engine cache: an engine built from `model.onnx` lives next to it as
 * `model.<precision>.engine`, with a JSON sidecar `model.<precision>.engine.json` holding the key it
 * was built for: model hash, TensorRT version, GPU name and compute capability, precision and
 * input size (plus the engine's own hash, so a truncated file is caught). An engine whose sidecar
 * does not match this host and model is stale or foreign and is rebuilt, never loaded blindly.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants as fsConstants, createReadStream, existsSync, promises as fsp } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { RuntimeFailure, errorMessage } from '../core/errors.js';
import { makeDirs } from '../core/files.js';

export type Precision = 'fp32' | 'fp16' | 'int8';

/** What an engine is valid for. Two engines with equal keys are interchangeable. */
export interface EngineKey {
  /** sha256 of the ONNX file */
  model_sha256: string;
  /** TensorRT version of the loaded library, e.g. "8.2.1" */
  tensorrt: string;
  gpu: string;
  /** "5.3" */
  compute_capability: string;
  precision: Precision;
  /** requested input size for models with a dynamic input, "model" when the model fixes it */
  input: string;
}

export interface EngineSidecar extends EngineKey {
  format: 1;
  built_by: 'trt-detect';
  built_at: string;
  engine_sha256: string;
  engine_bytes: number;
  /** the engine's input shape as TensorRT reports it, e.g. [1,3,300,300] */
  input_shape: number[];
  /** precision asked for, when a fallback chose another */
  requested_precision?: Precision;
  calibration?: { images: number; cache: string | null };
}

export const SIDECAR_FORMAT = 1;

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await new Promise<void>((resolve, reject) => {
    const s = createReadStream(path);
    s.on('data', (chunk) => hash.update(chunk));
    s.on('error', reject);
    s.on('end', () => resolve());
  });
  return hash.digest('hex');
}

/** `models/ssd.onnx` + fp16 -> `models/ssd.fp16.engine` */
export function cachedEnginePath(modelPath: string, precision: Precision): string {
  const base = basename(modelPath, extname(modelPath));
  return join(dirname(modelPath), `${base}.${precision}.engine`);
}

/** Where engines go when the model's folder is read-only (the service may write only /var/lib/trt-detect). */
export const FALLBACK_ENGINE_DIR = '/var/lib/trt-detect/engines';

/**
 * The cache location of a model's engine: $TRT_DETECT_ENGINE_CACHE/<name> when that is set, else
 * beside the model when its folder is writable, else FALLBACK_ENGINE_DIR/<name>.
 */
export function engineCacheLocation(modelPath: string, precision: Precision, env: NodeJS.ProcessEnv = process.env): string {
  const beside = cachedEnginePath(modelPath, precision);
  let dir = env.TRT_DETECT_ENGINE_CACHE;
  if (!dir) {
    try {
      accessSync(dirname(modelPath), fsConstants.W_OK);
      return beside;
    } catch {
      dir = FALLBACK_ENGINE_DIR;
    }
  }
  try {
    makeDirs(dir);
  } catch (err) {
    throw new RuntimeFailure(`${dir}: cannot create the TensorRT engine cache folder (${errorMessage(err)}; set TRT_DETECT_ENGINE_CACHE to a writable folder)`);
  }
  return join(dir, basename(beside));
}

export function sidecarPath(enginePath: string): string {
  return `${enginePath}.json`;
}

export function inputKey(width: number | null | undefined, height: number | null | undefined): string {
  return width && height ? `${width}x${height}` : 'model';
}

const KEY_FIELDS: Array<[keyof EngineKey, string]> = [
  ['model_sha256', 'model'],
  ['tensorrt', 'TensorRT'],
  ['gpu', 'GPU'],
  ['compute_capability', 'compute capability'],
  ['precision', 'precision'],
  ['input', 'input size'],
];

/** Human-readable differences between what an engine was built for and what is wanted now. */
export function keyMismatches(wanted: EngineKey, found: Partial<EngineKey>): string[] {
  const out: string[] = [];
  for (const [field, label] of KEY_FIELDS) {
    const a = wanted[field];
    const b = found[field];
    if (a === b) continue;
    if (field === 'model_sha256') out.push('the model changed since the engine was built');
    else out.push(`${label} ${b === undefined ? 'unknown' : JSON.stringify(b)} (this host: ${JSON.stringify(a)})`);
  }
  return out;
}

/** Parses a sidecar; null when it is missing, unreadable or not ours. */
export async function readSidecar(enginePath: string): Promise<EngineSidecar | null> {
  let text: string;
  try {
    text = await fsp.readFile(sidecarPath(enginePath), 'utf8');
  } catch {
    return null;
  }
  try {
    const v = JSON.parse(text) as Partial<EngineSidecar>;
    if (v && typeof v === 'object' && v.format === SIDECAR_FORMAT && v.built_by === 'trt-detect') return v as EngineSidecar;
  } catch {
    /* corrupt: treated as missing */
  }
  return null;
}

export type CacheLookup = { status: 'fresh'; sidecar: EngineSidecar } | { status: 'missing' } | { status: 'stale'; reasons: string[] };

/** Is the cached engine at `enginePath` usable for `key`? Checks the sidecar and the engine's hash. */
export async function lookupCachedEngine(enginePath: string, key: EngineKey): Promise<CacheLookup> {
  if (!existsSync(enginePath)) return { status: 'missing' };
  const sidecar = await readSidecar(enginePath);
  if (!sidecar) return { status: 'stale', reasons: [`no valid ${basename(sidecarPath(enginePath))} beside it (built by another tool or an older version)`] };
  const reasons = keyMismatches(key, sidecar);
  if (reasons.length) return { status: 'stale', reasons };
  const stat = await fsp.stat(enginePath);
  if (stat.size !== sidecar.engine_bytes || (await sha256File(enginePath)) !== sidecar.engine_sha256) {
    return { status: 'stale', reasons: ['the engine file does not match its sidecar (truncated or replaced)'] };
  }
  return { status: 'fresh', sidecar };
}

/** Writes the sidecar atomically (temp file + rename) after a successful build. */
export async function writeSidecar(enginePath: string, sidecar: EngineSidecar): Promise<void> {
  const path = sidecarPath(enginePath);
  const tmp = `${path}.tmp.${process.pid}`;
  try {
    await fsp.writeFile(tmp, `${JSON.stringify(sidecar, null, 2)}\n`);
    await fsp.rename(tmp, path);
  } catch (err) {
    throw new RuntimeFailure(`${path}: cannot write the engine cache sidecar (${errorMessage(err)})`);
  }
}

/**
 * For an engine given directly (model.path: x.engine): when our sidecar says it was built for
 * another TensorRT version or GPU, the reasons it cannot run here; [] when it may (or when there is
 * no sidecar: TensorRT itself then rejects a foreign engine with a clear error).
 */
export function foreignEngineReasons(sidecar: EngineSidecar | null, host: { tensorrt: string; gpu: string; compute_capability: string }): string[] {
  if (!sidecar) return [];
  const out: string[] = [];
  if (sidecar.tensorrt !== host.tensorrt) out.push(`built with TensorRT ${sidecar.tensorrt}, this host has ${host.tensorrt}`);
  if (sidecar.gpu !== host.gpu || sidecar.compute_capability !== host.compute_capability) {
    out.push(`built for ${sidecar.gpu} (sm ${sidecar.compute_capability}), this host has ${host.gpu} (sm ${host.compute_capability})`);
  }
  return out;
}

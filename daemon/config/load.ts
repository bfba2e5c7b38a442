import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LineCounter, isMap, isScalar, parseDocument } from 'yaml';
import { ConfigError } from '../core/errors.js';
import { defaultStateDir, folderCreateProblem } from '../core/files.js';
import { DETECT_KEYS, configSchema } from './config-schema.js';
import { polygonProblem } from './zones.js';
import { Validator, isMissing, type Issue, type MapSchema, type ObjectSchema } from './schema.js';
import type { CameraConfig, Config } from './types.js';

export interface LoadOptions {
  /**
   * Also report files the config names that do not exist (model, file sources, password/TLS files),
   * line-numbered. check-config sets this; `run` finds them when it opens them.
   */
  checkFiles?: boolean;
  /** environment for ${VAR} references (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** directory relative paths resolve against when the config sets no base_dir (default process.cwd()) */
  cwd?: string;
  /**
   * The config is read for its model and detect sections only (detect, eval, bench, build-engine
   * with -c): it may have no cameras. The daemon and check-config need at least one.
   */
  modelOnly?: boolean;
}

const SYSTEM_CONFIG = '/etc/trt-detect/config.yaml';

/** The config schema with the cameras section optional (LoadOptions.modelOnly). */
const modelOnlySchema: ObjectSchema = {
  ...configSchema,
  fields: { ...configSchema.fields, cameras: { ...(configSchema.fields.cameras as MapSchema), minEntries: undefined } },
};

/** docs/commands.md: /etc/trt-detect/config.yaml if it exists, else ./config/config.yaml. */
export function defaultConfigPath(): string {
  return existsSync(SYSTEM_CONFIG) ? SYSTEM_CONFIG : 'config/config.yaml';
}

/** Reads and validates a config file; throws ConfigError with every problem, one per line. */
export function loadConfig(file: string, options: LoadOptions = {}): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new ConfigError(`${file}: file not found (check the -c path; without -c the config is ${SYSTEM_CONFIG}, else ./config/config.yaml)`);
    if (code === 'EISDIR') throw new ConfigError(`${file}: is a directory (pass the config file itself, e.g. ${file.replace(/\/$/, '')}/config.yaml)`);
    if (code === 'EACCES') throw new ConfigError(`${file}: permission denied (make the file readable by the user running trt-detect)`);
    throw new ConfigError(`${file}: cannot read the file (${(err as Error).message})`);
  }
  return parseConfig(text, file, options);
}

/** Validates config text; `file` is the name messages start with (the path as the user gave it). */
export function parseConfig(text: string, file: string, options: LoadOptions = {}): Config {
  const lines = new LineCounter();
  const where = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  const doc = parseDocument(text, { lineCounter: lines, merge: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors
        .map((e) => {
          const pos = e.linePos?.[0];
          const what = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
          if (e.code === 'DUPLICATE_KEY') {
            const key = /^["']?([^"':\n]+)/.exec(text.slice(e.pos[0]))?.[1]?.trim() ?? '?';
            return `${file}:${pos?.line ?? 1}:${pos?.col ?? 1}: "${key}" appears twice in the same section (keep one of them)`;
          }
          return `${file}:${pos?.line ?? 1}:${pos?.col ?? 1}: YAML syntax error: ${what} (fix the YAML syntax at that line)`;
        })
        .join('\n'),
    );
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) {
    throw new ConfigError(`${file}:1:1: (top level): the file is empty (start from the shipped config/config.yaml)`);
  }
  if (!isMap(root)) {
    const at = root.range ? root.range[0] : 0;
    throw new ConfigError(
      `${where(at)}: (top level): expected a mapping of sections (model:, detect:, cameras:, mqtt: ...) (start from the shipped config/config.yaml)`,
    );
  }

  const validator = new Validator(doc, options.env ?? process.env);
  const value = validator.validate(options.modelOnly ? modelOnlySchema : configSchema, root, '', 0);
  const issues = [...validator.issues];
  const at = (path: string) => {
    for (let p = path; ; p = p.replace(/(\.[^.[\]]+|\[\d+\])$/, '')) {
      const pos = validator.positions.get(p);
      if (pos !== undefined) return pos;
      if (!/[.[]/.test(p)) return 0;
    }
  };
  const add = (path: string, problem: string) => issues.push({ offset: at(path), path, problem });

  let config: Config | null = null;
  if (!isMissing(value)) {
    config = finish(value as RawConfig, dirname(file), options, add);
  }
  if (issues.length > 0) {
    const sorted = issues.map((issue, i) => ({ issue, i })).sort((a, b) => a.issue.offset - b.issue.offset || a.i - b.i);
    throw new ConfigError(sorted.map(({ issue }) => formatIssue(where(issue.offset), issue)).join('\n'));
  }
  return config as Config;
}

function formatIssue(where: string, issue: Issue): string {
  return `${where}: ${issue.path || '(top level)'}: ${issue.problem}`;
}

type RawCamera = Omit<CameraConfig, 'effective_detect'>;
type RawConfig = Omit<Config, 'base_dir' | 'state_dir' | 'cameras'> & { base_dir: string | null; state_dir: string | null; cameras: Record<string, RawCamera> };

/** Resolves paths, merges per-camera detect overrides and runs the checks that span several keys. */
function finish(raw: RawConfig, configDir: string, options: LoadOptions, add: (path: string, problem: string) => void): Config {
  const cwd = options.cwd ?? process.cwd();
  const baseDir = raw.base_dir === null ? resolve(cwd) : resolve(cwd, configDir, raw.base_dir);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const absOrNull = (p: string | null) => (p === null ? null : abs(p));
  const hint = `relative paths resolve against ${raw.base_dir === null ? 'the current directory' : 'base_dir'} ${baseDir}`;

  const model = {
    ...raw.model,
    path: abs(raw.model.path),
    calibration: { ...raw.model.calibration, images: abs(raw.model.calibration.images), cache: abs(raw.model.calibration.cache) },
  };
  const mqtt = {
    ...raw.mqtt,
    password_file: absOrNull(raw.mqtt.password_file),
    ca: absOrNull(raw.mqtt.ca),
    cert: absOrNull(raw.mqtt.cert),
    key: absOrNull(raw.mqtt.key),
  };

  const cameras: Record<string, CameraConfig> = {};
  for (const [name, cam] of Object.entries(raw.cameras)) {
    const effective = { ...raw.detect };
    for (const k of DETECT_KEYS) {
      const v = (cam.detect as Record<string, unknown>)[k];
      if (v !== undefined) (effective as unknown as Record<string, unknown>)[k] = v;
    }
    cameras[name] = {
      ...cam,
      source: resolveSource(cam.source, baseDir),
      record: { ...cam.record, path: abs(cam.record.path) },
      snapshots: { ...cam.snapshots, path: absOrNull(cam.snapshots.path) },
      effective_detect: effective,
    };
  }
  const http = { ...raw.http, auth: { ...raw.http.auth, password_file: absOrNull(raw.http.auth.password_file) } };
  const stateDir = raw.state_dir === null ? defaultStateDir(options.env ?? process.env) : abs(raw.state_dir);
  const config: Config = {
    base_dir: baseDir,
    state_dir: stateDir,
    model,
    detect: raw.detect,
    cameras,
    mqtt,
    rtsp_server: raw.rtsp_server,
    http,
    store: { ...raw.store, path: raw.store.path === null ? join(stateDir, 'events.db') : abs(raw.store.path) },
    media: raw.media,
    log: raw.log,
  };

  // checks that span several keys
  if (model.backend === 'onnxruntime' && !/\.onnx$/i.test(model.path)) {
    add('model.backend', 'onnxruntime cannot load a TensorRT engine (set backend: auto or tensorrt, or point model.path at the .onnx file)');
  }
  if (mqtt.password !== null && mqtt.password_file !== null) add('mqtt.password_file', 'both password and password_file are set (keep one of them)');
  if (http.auth.password !== null && http.auth.password_file !== null)
    add('http.auth.password_file', 'both password and password_file are set (keep one of them)');
  if ((mqtt.cert === null) !== (mqtt.key === null))
    add(mqtt.cert === null ? 'mqtt.key' : 'mqtt.cert', 'cert and key go together (set both mqtt.cert and mqtt.key, or neither)');
  if (config.rtsp_server.enabled && config.http.enabled && config.rtsp_server.port === config.http.port) {
    add('http.port', `port ${config.http.port} is also rtsp_server.port (give them different ports)`);
  }
  for (const [name, cam] of Object.entries(cameras)) {
    for (const [zone, z] of Object.entries(cam.zones)) {
      const problem = polygonProblem(z.coordinates, cam.width !== null && cam.height !== null ? { width: cam.width, height: cam.height } : null);
      if (problem) add(`cameras.${name}.zones.${zone}.coordinates`, problem);
    }
    if (cam.rtsp_out && !config.rtsp_server.enabled)
      add(`cameras.${name}.rtsp_out`, 'true but rtsp_server.enabled is false (enable rtsp_server or set rtsp_out: false)');
  }

  if (options.checkFiles) {
    const mustExist = (path: string, file: string | null, what: string) => {
      if (file === null) return;
      if (!existsSync(file)) add(path, `${what} not found: ${file} (check the path; ${hint})`);
      else if (!statSync(file).isFile()) add(path, `not a file: ${file} (point it at the ${what} itself)`);
    };
    mustExist('model.path', model.path, 'model file');
    mustExist('mqtt.password_file', mqtt.password_file, 'password file');
    mustExist('http.auth.password_file', http.auth.password_file, 'password file');
    mustExist('mqtt.ca', mqtt.ca, 'CA certificate');
    mustExist('mqtt.cert', mqtt.cert, 'client certificate');
    mustExist('mqtt.key', mqtt.key, 'client key');
    for (const [name, cam] of Object.entries(cameras)) {
      if (sourceKind(cam.source) !== 'file') continue;
      const path = sourceFilePath(cam.source);
      if (path === null) add(`cameras.${name}.source`, `malformed file URL "${cam.source}" (write file:///absolute/path.mp4 or a plain path)`);
      else mustExist(`cameras.${name}.source`, path, 'video file');
    }
    for (const [name, cam] of Object.entries(cameras)) {
      if (!cam.enabled || !cam.record.enabled) continue;
      const problem = folderCreateProblem(cam.record.path);
      if (problem) add(`cameras.${name}.record.path`, `${problem} (point record.path at a folder trt-detect can write)`);
    }
  }
  return config;
}

function sourceKind(source: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(source);
  return m ? m[1].toLowerCase().replace('rtsps', 'rtsp') : 'file';
}

/** A file source as the local path it names, or null when its file:// URL is malformed. */
export function sourceFilePath(source: string): string | null {
  if (!/^file:\/\//i.test(source)) return source;
  try {
    return fileURLToPath(source);
  } catch {
    return null;
  }
}

/** Plain relative paths and file://relative become absolute; other sources are kept as written. */
function resolveSource(source: string, baseDir: string): string {
  if (sourceKind(source) !== 'file') return source;
  if (/^file:\/\//i.test(source)) {
    const rest = source.slice('file://'.length);
    return rest.startsWith('/') ? source : pathToFileURL(resolve(baseDir, rest)).href;
  }
  return isAbsolute(source) ? source : resolve(baseDir, source);
}

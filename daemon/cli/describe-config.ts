import { existsSync } from 'node:fs';
import { inferenceThreads } from '../detect/inference-threads.js';
import { labelFileFor } from '../detect/labels.js';
import { hardwareEncoder } from '../media/encoder.js';
import { maskSecrets } from '../core/secrets.js';
import type { CameraConfig, Config, DetectSettings, ModelConfig } from '../config/types.js';
import { registryModelForFile } from '../models/registry.js';

function sourceKind(source: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(source);
  if (!m) return 'file';
  const s = m[1].toLowerCase();
  return s === 'rtsps' ? 'rtsp' : s;
}

function detectText(d: DetectSettings): string {
  return `threshold ${d.threshold}, nms_iou ${d.nms_iou}, classes ${d.classes.length ? d.classes.join(', ') : 'all'}, every ${d.interval === 0 ? 'frame' : `${d.interval + 1}th frame`}, top_k ${d.top_k}${d.drop_group_boxes ? '' : ', group boxes kept'}`;
}

function cameraLines(name: string, cam: CameraConfig, cfg: Config): string[] {
  const kind = sourceKind(cam.source);
  const caps = [cam.width && cam.height ? `${cam.width}x${cam.height}` : null, cam.fps ? `${cam.fps} fps` : null].filter(Boolean).join(', ');
  const opts = [
    kind === 'file' ? (cam.loop ? 'loop' : 'no loop') : null,
    kind === 'file' ? (cam.realtime ? 'at its own frame rate' : 'as fast as it is processed') : null,
    kind === 'rtsp' ? `${cam.rtsp_transport}` : null,
    caps || null,
    `decoder ${cam.decoder}`,
    kind === 'file' ? null : `stall timeout ${cam.stall_timeout_seconds} s`,
  ].filter(Boolean);
  const lines = [`  ${name}${cam.enabled ? '' : ' (disabled)'}: ${kind} ${maskSecrets(cam.source)} (${opts.join(', ')})`];
  lines.push(`    detect: ${detectText(cam.effective_detect)}`);
  const r = cam.record;
  const hw = hardwareEncoder();
  lines.push(
    r.enabled
      ? `    record: ${r.path}/${name}/<date>/<time>.mp4, ${r.segment_seconds} s segments, kept ${r.retain_days === 0 ? 'until the disk fills' : `${r.retain_days} days`}, min free ${r.min_free_percent}%, ${recordModeText(r.mode, hw ? `${hw} (hardware)` : `libx264 ${r.preset} crf ${r.crf}`)}`
      : '    record: off',
  );
  lines.push(
    `    rtsp_out: ${cam.rtsp_out ? (cfg.rtsp_server.enabled ? `rtsp://<host>:${cfg.rtsp_server.port}/${name}` : 'on, but rtsp_server is disabled') : 'off'}`,
  );
  return lines;
}

/** Where the labels come from; says so when there are none (detections are then named class_<id>). */
function labelSource(modelPath: string, labels: string[] | null): string {
  if (labels && labels.length > 0) return labels.join(', ');
  const file = labelFileFor(modelPath);
  return existsSync(file) ? `from ${file}` : `none (no model.labels and no ${file}: detections are named class_<id>)`;
}

function labelMapText(modelPath: string, map: ModelConfig['label_map']): string {
  if (map === 'none') return "none (the model's own labels)";
  if (map === 'auto') {
    const entry = registryModelForFile(modelPath);
    return entry
      ? `auto (${entry.name}: ${Object.entries(entry.defaultLabelMap)
          .map(([a, b]) => `${a} -> ${b}`)
          .join(', ')}; others dropped)`
      : 'auto (none for this model)';
  }
  return `${Object.entries(map)
    .map(([a, b]) => `${a} -> ${b}`)
    .join(', ')}; others dropped`;
}

/** The human summary `check-config` prints: what would run, secrets masked. */
export function describeConfig(cfg: Config): string {
  const m = cfg.model;
  const out: string[] = [];
  out.push(`base_dir: ${cfg.base_dir}`);
  out.push(`model: ${m.path}`);
  out.push(
    `  backend ${m.backend}, precision ${m.precision}${m.strict_precision ? ' (strict)' : ''}, layout ${m.layout}, threads ${m.threads === 0 ? `auto (${inferenceThreads(0, true)} on this machine)` : m.threads}`,
  );
  out.push(
    `  labels: ${labelSource(m.path, m.labels)}; label_map ${labelMapText(m.path, m.label_map)}${m.box_order !== 'auto' ? `; box_order ${m.box_order}` : ''}`,
  );
  const size = m.input.width && m.input.height ? `${m.input.width}x${m.input.height}` : 'size from the model';
  out.push(`  input: ${m.input.color}, mean [${m.input.mean.join(', ')}], std [${m.input.std.join(', ')}], ${m.input.resize}, ${size}`);
  if (m.precision === 'int8') out.push(`  int8 calibration: images ${m.calibration.images}, cache ${m.calibration.cache}`);
  out.push(`detect: ${detectText(cfg.detect)}`);
  const names = Object.keys(cfg.cameras);
  const enabled = names.filter((n) => cfg.cameras[n].enabled).length;
  out.push(`cameras: ${names.length} (${enabled} enabled)`);
  for (const name of names) out.push(...cameraLines(name, cfg.cameras[name], cfg));
  const q = cfg.mqtt;
  if (q.enabled) {
    const auth = [
      q.username ? `user ${q.username}` : null,
      q.password !== null ? 'password ***' : null,
      q.password_file ? `password_file ${q.password_file}` : null,
      q.ca ? `ca ${q.ca}` : null,
      q.cert ? `cert ${q.cert}` : null,
    ]
      .filter(Boolean)
      .join(', ');
    out.push(`mqtt: ${maskSecrets(q.url)}${auth ? ` (${auth})` : ''}`);
    out.push(
      `  topics: ${q.topic_prefix}/status, ${q.topic_prefix}/<camera>/detections (${q.publish === 'all_frames' ? 'every processed frame' : 'frames with detections'}), qos ${q.qos}, stats every ${q.stats_interval_seconds} s`,
    );
  } else {
    out.push('mqtt: off');
  }
  const a = cfg.http.auth;
  const login = a.enabled
    ? `login "${a.username}", password ${a.password !== null ? 'from http.auth.password' : a.password_file !== null ? `from ${a.password_file}` : `generated into ${cfg.state_dir}/http-password on the first start`}`
    : 'no login (http.auth.enabled: false)';
  out.push(
    `rtsp_server: ${cfg.rtsp_server.enabled ? `${cfg.rtsp_server.host}:${cfg.rtsp_server.port}, ${a.enabled ? 'clients log in as on HTTP' : 'open'}` : 'off'}`,
  );
  out.push(
    `http: ${cfg.http.enabled ? `http://${cfg.http.host}:${cfg.http.port}/healthz (open), /metrics${a.enabled && !a.open_metrics ? ' (login)' : ''}; ${login}` : 'off'}`,
  );
  out.push(`media: decoders and encoders at ${cfg.media.nice === 0 ? "the daemon's priority" : `nice +${cfg.media.nice}`}`);
  out.push(`log: ${cfg.log.level}`);
  return `${out.join('\n')}\n`;
}

/** What a camera records: the annotated encode (with its encoder), the camera's own stream, or both. */
function recordModeText(mode: 'annotated' | 'raw' | 'both', encoder: string): string {
  const copy = (files: string) => `the camera's own stream copied (${files}; CSI and V4L2 cameras record annotated)`;
  if (mode === 'raw') return copy('<time>.mp4 with <time>.jsonl detections');
  if (mode === 'both') return `annotated (${encoder}) and ${copy('<time>.raw.mp4 with <time>.raw.jsonl detections')}`;
  return encoder;
}

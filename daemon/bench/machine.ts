import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import type { ModelInfo } from '../detect/types.js';
import { ffmpegPath } from '../media/image-io.js';
import { addonInfo } from '../native.js';

/** What a benchmark ran on, so that every report names its machine. */
export interface MachineInfo {
  cpu_model: string;
  cores: number;
  memory_gb: number;
  os: string;
  arch: string;
  /** e.g. "NVIDIA Jetson Nano Developer Kit" from the device tree; null on a PC */
  device_model: string | null;
  node: string;
  backend: ModelInfo['backend'];
  onnxruntime: string | null;
  ffmpeg: string | null;
  addon: { tensorrt: boolean; cuda: boolean; gstreamer: boolean; malloc_arena_max: number | null } | null;
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').replace(/\0/g, '').trim() || null;
  } catch {
    return null;
  }
}

function osName(): string {
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readText('/etc/os-release') ?? '');
  return `${pretty ? pretty[1] : platform()} (kernel ${release()})`;
}

function packageVersion(name: string): string | null {
  try {
    const require = createRequire(import.meta.url);
    return (require(`${name}/package.json`) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

function ffmpegVersion(): string | null {
  try {
    const out = execFileSync(ffmpegPath(), ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    const m = /ffmpeg version (\S+)/.exec(out);
    return m ? m[1] : null;
  } catch {
    return null;
  }
}

export function describeMachine(backend: ModelInfo['backend']): MachineInfo {
  const list = cpus();
  let addon: MachineInfo['addon'] = null;
  try {
    addon = { tensorrt: addonInfo.tensorrt, cuda: addonInfo.cuda, gstreamer: addonInfo.gstreamer, malloc_arena_max: addonInfo.mallocArenaMax };
  } catch {
    addon = null;
  }
  return {
    cpu_model: (list[0]?.model ?? 'unknown').replace(/\s+/g, ' ').trim(),
    cores: list.length,
    memory_gb: Number((totalmem() / 2 ** 30).toFixed(1)),
    os: osName(),
    arch: arch(),
    device_model: readText('/proc/device-tree/model'),
    node: process.version,
    backend,
    onnxruntime: backend === 'onnxruntime' ? packageVersion('onnxruntime-node') : null,
    ffmpeg: ffmpegVersion(),
    addon,
  };
}

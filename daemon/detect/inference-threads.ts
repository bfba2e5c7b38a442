import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/**
 * How many threads ONNX Runtime runs the model on (`model.threads`).
 *
 * ONNX Runtime's own default is one thread per physical core. That is the fastest for the model
 * alone, but the daemon decodes, draws and encodes video on the same cores: on the 2-core bench
 * machine, three alternating rounds gave the pipeline 33.5 FPS with 1 thread and 33.4 with 2 at
 * interval 0 (159 % against 185 % of a core: 2 threads cost 15 % more CPU for nothing), and 68.2
 * against 70.5 FPS at interval 2 (3 % less with 1 thread, at the same CPU). So where video is
 * decoded and encoded alongside (run, bench, detect on a video) auto leaves one core to it.
 */

/** Physical cores: distinct (package, core) pairs of the online CPUs in /sys; else the CPU count. */
export function physicalCores(): number {
  const root = '/sys/devices/system/cpu';
  const cores = new Set<string>();
  let names: string[] = [];
  try {
    names = readdirSync(root).filter((n) => /^cpu\d+$/.test(n));
  } catch {
    // not Linux
  }
  for (const cpu of names) {
    try {
      const topo = `${root}/${cpu}/topology`;
      cores.add(`${readFileSync(`${topo}/physical_package_id`, 'utf8').trim()}:${readFileSync(`${topo}/core_id`, 'utf8').trim()}`);
    } catch {
      // offline CPUs have no topology
    }
  }
  return cores.size > 0 ? cores.size : Math.max(1, cpus().length);
}

/**
 * The intra-op thread count for `model.threads`: a number above 0 as it is; 0 (auto) with video
 * on the same cores: one less than the physical cores, at least 1; 0 without video (eval, detect
 * on images): 0, which lets ONNX Runtime take one per physical core.
 */
export function inferenceThreads(configured: number | undefined, withVideo: boolean, cores: number = physicalCores()): number {
  if (configured && configured > 0) return configured;
  return withVideo ? Math.max(1, cores - 1) : 0;
}

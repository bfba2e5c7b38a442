import { readdirSync, readFileSync } from 'node:fs';

/** Reading processes and threads from /proc (Linux). */

/** The fields of a /proc stat line after the command name (field 3, the state, is [0]). */
function statFields(path: string): string[] {
  const s = readFileSync(path, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
}

/** The nice value of every thread of `pid`. */
export function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => Number(statFields(`/proc/${pid}/task/${tid}/stat`)[16]));
}

/** The pids of `parent`'s children whose command is `comm` (e.g. ffmpeg). */
export function childrenNamed(parent: number, comm: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() === comm && Number(statFields(`/proc/${name}/stat`)[1]) === parent) pids.push(Number(name));
    } catch {
      // gone in between
    }
  }
  return pids;
}

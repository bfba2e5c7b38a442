import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Folder and output-path helpers with errors a user can act on.
 *
 * `makeDirs` replaces `mkdirSync(dir, { recursive: true })`: Node's recursive mkdir never returns
 * when the missing folder is under a filesystem that refuses new entries with ENOENT (`/proc/x`
 * spins at 100 % CPU, unkillable by SIGTERM), and its errors name the innermost path only.
 */

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** Why creating or writing in `path` failed, in words (the errno code in brackets). */
export function fsProblem(err: unknown, path: string): string {
  const code = errnoCode(err);
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return `no permission to write in ${path} (${code})`;
    case 'EROFS':
      return `${path} is on a read-only filesystem (EROFS)`;
    case 'ENOTDIR':
      return `a part of ${path} is a file, not a folder (ENOTDIR)`;
    case 'ENOENT':
      return `${path} cannot be created there (ENOENT: that filesystem does not take new folders)`;
    case 'ENOSPC':
      return `no space left on the device of ${path} (ENOSPC)`;
    default:
      return `${path}: ${(err as Error)?.message ?? String(err)}`;
  }
}

/** An Error whose message is `fsProblem`, keeping the errno code. */
export class FolderError extends Error {
  constructor(
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Creates `dir` and any missing parents, one level at a time. Throws FolderError with a message
 * that names the folder that could not be made and why.
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let p = resolve(dir); ; p = dirname(p)) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      const code = errnoCode(err);
      // ENOTDIR: a file further up is in the way; the walk up names it
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(p) === p) throw new FolderError(code, fsProblem(err, p));
      missing.push(p);
      continue;
    }
    if (!isDir) throw new FolderError('ENOTDIR', `${p} is a file, not a folder`);
    break;
  }
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p);
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw new FolderError(errnoCode(err), fsProblem(err, p));
    }
  }
}

/**
 * Why a file cannot be written at `file` (its folder is missing, is not a folder or is not
 * writable; the path is a folder), or null when it can. Nothing is created.
 */
export function fileWriteProblem(file: string): string | null {
  try {
    if (statSync(file).isDirectory()) return `${file} is a folder (give a file name)`;
  } catch {
    // does not exist yet: fine
  }
  const dir = dirname(resolve(file));
  if (!existsSync(dir)) return `folder ${dir} does not exist`;
  return folderWriteProblem(dir);
}

/**
 * Why folders could not be made under `dir` (check-config only looks, nothing is created): its
 * nearest existing ancestor is a file, or is not writable.
 */
export function folderCreateProblem(dir: string): string | null {
  let p = resolve(dir);
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return folderWriteProblem(p);
}

/** Why nothing can be written in the existing path `dir`: it is a file, or not writable. */
function folderWriteProblem(dir: string): string | null {
  if (!statSync(dir).isDirectory()) return `${dir} is a file, not a folder`;
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    return `no permission to write in ${dir}`;
  }
  return null;
}

/** The installed package (or checkout): the first folder above this module with a package.json. */
export function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return join(here, '..');
  }
}

/** The installed daemon's state folder (scripts/install, systemd's StateDirectory=). */
export const INSTALLED_STATE_DIR = '/var/lib/trt-detect';

/**
 * Where the daemon keeps what must survive a restart (the generated HTTP password, the API token)
 * when the config sets no `state_dir`: systemd's `$STATE_DIRECTORY` (the unit's StateDirectory=,
 * /var/lib/trt-detect), else /var/lib/trt-detect when this user may write there, else
 * `$XDG_STATE_HOME/trt-detect` (~/.local/state/trt-detect) for a checkout run by a user.
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromSystemd = env.STATE_DIRECTORY?.split(':')[0];
  if (fromSystemd && isAbsolute(fromSystemd)) return fromSystemd;
  try {
    accessSync(INSTALLED_STATE_DIR, constants.W_OK);
    if (statSync(INSTALLED_STATE_DIR).isDirectory()) return INSTALLED_STATE_DIR;
  } catch {
    // not installed here, or not ours
  }
  const xdg = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : join(env.HOME || homedir(), '.local', 'state');
  return join(xdg, 'trt-detect');
}

/** Free space of the file system holding `path` (its nearest existing folder): percent and bytes; null when df cannot tell (df works on Node 16, statfs does not). */
export function diskFree(path: string): Promise<{ percent: number; bytes: number } | null> {
  let p = resolve(path);
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return new Promise((done) => {
    execFile('df', ['-Pk', p], (err, stdout) => {
      if (err) return done(null);
      const cols = String(stdout).trim().split('\n').pop()?.split(/\s+/) ?? [];
      const size = Number(cols[1]);
      const avail = Number(cols[3]);
      done(size > 0 && Number.isFinite(avail) ? { percent: (100 * avail) / size, bytes: avail * 1024 } : null);
    });
  });
}

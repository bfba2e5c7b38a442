/**
 * Files over HTTP for the web UI's API: byte ranges (what a <video> element asks for), HEAD, and
 * the one check every served path goes through: after resolving links it must lie inside one of
 * the folders it may come from (recordings, snapshots, the clip cache, the UI's assets).
 */
import { createReadStream, promises as fsp } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sep } from 'node:path';

/** The real path of `file` when it is a regular file inside `root` (links resolved), else null. */
export async function fileInside(root: string, file: string): Promise<string | null> {
  try {
    const [realRoot, realFile] = await Promise.all([fsp.realpath(root), fsp.realpath(file)]);
    if (!realFile.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) return null;
    const st = await fsp.stat(realFile);
    return st.isFile() ? realFile : null;
  } catch {
    return null;
  }
}

/** One `bytes=` range of a file of `size` bytes, or 'invalid' (416), or null (no usable Range: the whole file). */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'invalid' | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // several ranges or another unit: send it all
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'invalid';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'invalid';
  return { start, end };
}

export interface SendFileOptions {
  type: string;
  /** Content-Disposition: attachment with this file name */
  download?: string;
  /** Cache-Control (default no-store) */
  cache?: string;
}

/** Streams a file (a Range request gets 206); the caller checked the path with fileInside. */
export async function sendFile(req: IncomingMessage, res: ServerResponse, file: string, opts: SendFileOptions): Promise<void> {
  const st = await fsp.stat(file);
  const size = st.size;
  res.setHeader('Content-Type', opts.type);
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Cache-Control', opts.cache ?? 'no-store');
  res.setHeader('Last-Modified', st.mtime.toUTCString());
  if (opts.download) res.setHeader('Content-Disposition', `attachment; filename="${opts.download.replace(/[^\w.-]/g, '_')}"`);
  const range = parseRange(req.headers.range, size);
  if (range === 'invalid') {
    res.statusCode = 416;
    res.setHeader('Content-Range', `bytes */${size}`);
    res.end();
    return;
  }
  const start = range ? range.start : 0;
  const end = range ? range.end : size - 1;
  res.statusCode = range ? 206 : 200;
  if (range) res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
  res.setHeader('Content-Length', size === 0 ? 0 : end - start + 1);
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const stream = createReadStream(file, { start, end });
    stream.on('error', () => {
      res.destroy();
      resolve();
    });
    res.on('close', () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(res);
  });
}

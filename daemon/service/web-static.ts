/**
 * The web UI's files (built by scripts/build-web.mjs from web/ into dist/web/): `/` is index.html,
 * `/assets/<name>` the scripts, styles and icons, with names that change with their content (kept
 * by the browser for a year). Files are read once and kept in memory with their gzip form
 * (build-time .gz), so a request never touches the disk. Nothing but the files the build listed
 * in manifest.json is ever served.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { packageRoot } from '../core/files.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
};

interface Asset {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  immutable: boolean;
}

/** The default folder: dist/web of the package (checkout or installed runtime). */
export function defaultWebRoot(): string {
  return join(packageRoot(), 'dist', 'web');
}

export class WebStatic {
  private assets: Map<string, Asset> | null = null;

  constructor(private readonly root = defaultWebRoot()) {}

  private load(): Map<string, Asset> | null {
    if (this.assets) return this.assets;
    const manifest = join(this.root, 'manifest.json');
    if (!existsSync(manifest)) return null;
    const files = (JSON.parse(readFileSync(manifest, 'utf8')) as { files: string[] }).files;
    const assets = new Map<string, Asset>();
    for (const name of files) {
      if (!/^[\w.-]+$/.test(name)) continue;
      const file = join(this.root, name);
      const gz = `${file}.gz`;
      assets.set(name === 'index.html' ? '/' : `/assets/${name}`, {
        body: readFileSync(file),
        gzip: existsSync(gz) ? readFileSync(gz) : null,
        type: TYPES[extname(name)] ?? 'application/octet-stream',
        immutable: name !== 'index.html' && /-[A-Z0-9]{8}\./.test(name),
      });
    }
    this.assets = assets;
    return assets;
  }

  /** Answers `/`, `/index.html` and `/assets/...`; false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (path !== '/' && path !== '/index.html' && !path.startsWith('/assets/')) return false;
    const sendText = (status: number, text: string) => {
      res.statusCode = status;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.setHeader('Cache-Control', 'no-store');
      res.end(req.method === 'HEAD' ? undefined : `${text}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendText(405, `method ${req.method} not allowed`);
      return true;
    }
    const assets = this.load();
    if (!assets) {
      sendText(503, `the web UI is not built (${this.root} is missing): run npm run build (or scripts/setup)`);
      return true;
    }
    const asset = assets.get(path === '/index.html' ? '/' : path);
    if (!asset) {
      sendText(404, `no such file ${path}`);
      return true;
    }
    const gzip = asset.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? (asset.gzip as Buffer) : asset.body;
    res.statusCode = 200;
    res.setHeader('Content-Type', asset.type);
    res.setHeader('Cache-Control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    res.setHeader('Vary', 'Accept-Encoding');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (path === '/' || path === '/index.html') {
      res.setHeader(
        'Content-Security-Policy',
        "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; style-src 'self'; frame-ancestors 'none'",
      );
      res.setHeader('X-Frame-Options', 'DENY');
    }
    if (gzip) res.setHeader('Content-Encoding', 'gzip');
    res.setHeader('Content-Length', body.length);
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }
}

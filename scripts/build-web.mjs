#!/usr/bin/env node
// Builds the web UI (web/: Preact + TypeScript) into dist/web/ with esbuild: one minified script
// and one stylesheet with content-hashed names, the icon, index.html pointing at them, a .gz of
// each (the daemon sends those to browsers that accept gzip) and manifest.json (the files the
// daemon may serve). No CDN, nothing fetched at run time. Skips the work when web/ and this script
// are unchanged since the last build (the stamp is dist/web/manifest.json's "source" hash).
//   node scripts/build-web.mjs           build when out of date (npm run build:web)
//   node scripts/build-web.mjs --force   build anyway
//   node scripts/build-web.mjs --check   exit 1 when out of date or over the size budget
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'web');
const OUT = join(ROOT, 'dist', 'web');
/** the assets' gzipped size may not exceed this (a Jetson on a phone's Wi-Fi) */
export const BUDGET_GZIP_BYTES = 300 * 1024;

const args = process.argv.slice(2);
if (args.some((a) => !['--force', '--check'].includes(a))) {
  process.stderr.write('usage: node scripts/build-web.mjs [--force | --check]\n');
  process.exit(2);
}

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

function sourceHash() {
  const h = createHash('sha256');
  for (const f of [...files(SRC), fileURLToPath(import.meta.url), join(ROOT, 'package-lock.json')].sort()) {
    h.update(relative(ROOT, f));
    h.update(readFileSync(f));
  }
  return h.digest('hex').slice(0, 32);
}

function current() {
  try {
    return JSON.parse(readFileSync(join(OUT, 'manifest.json'), 'utf8'));
  } catch {
    return null;
  }
}

const hash = sourceHash();
const manifest = current();
const fresh = manifest && manifest.source === hash && manifest.files.every((f) => existsSync(join(OUT, f)));
if (args.includes('--check')) {
  if (!fresh) {
    process.stderr.write('dist/web is out of date: run npm run build:web\n');
    process.exit(1);
  }
  if (manifest.gzip_bytes > BUDGET_GZIP_BYTES) {
    process.stderr.write(`the web UI is ${manifest.gzip_bytes} bytes gzipped, over the budget of ${BUDGET_GZIP_BYTES}\n`);
    process.exit(1);
  }
  process.exit(0);
}
if (fresh && !args.includes('--force')) process.exit(0);

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  process.stderr.write('build-web: esbuild is not installed (a devDependency: run npm ci without --omit=dev)\n');
  process.exit(1);
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const result = await esbuild.build({
  entryPoints: [join(SRC, 'src', 'main.tsx')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: 'app-[hash]',
  outdir: OUT,
  write: true,
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const built = Object.keys(result.metafile.outputs).map((p) => relative(OUT, join(ROOT, p)));
const js = built.find((f) => f.endsWith('.js'));
const css = built.find((f) => f.endsWith('.css'));
const iconText = readFileSync(join(SRC, 'icon.svg'));
const icon = `icon-${createHash('sha256').update(iconText).digest('base64url').replace(/[-_]/g, '').slice(0, 8).toUpperCase()}.svg`;
writeFileSync(join(OUT, icon), iconText);
const html = readFileSync(join(SRC, 'index.html'), 'utf8').replace('{{js}}', js).replace('{{css}}', css).replace('{{icon}}', icon);
writeFileSync(join(OUT, 'index.html'), html);
const served = ['index.html', js, css, icon];
let gzipBytes = 0;
for (const f of served) {
  const gz = gzipSync(readFileSync(join(OUT, f)), { level: 9 });
  writeFileSync(join(OUT, `${f}.gz`), gz);
  gzipBytes += gz.length;
}
writeFileSync(join(OUT, 'manifest.json'), `${JSON.stringify({ source: hash, files: served, gzip_bytes: gzipBytes }, null, 2)}\n`);
const sizes = served.map((f) => `${f} ${statSync(join(OUT, f)).size} B`).join(', ');
process.stdout.write(`build-web: dist/web: ${sizes}; ${gzipBytes} B gzipped (budget ${BUDGET_GZIP_BYTES})\n`);
if (gzipBytes > BUDGET_GZIP_BYTES) {
  process.stderr.write(`build-web: the web UI is ${gzipBytes} bytes gzipped, over the budget of ${BUDGET_GZIP_BYTES}\n`);
  process.exit(1);
}

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../daemon/config/config-schema.js';
import type { ObjectSchema } from '../../daemon/config/schema.js';

/**
 * The user documentation against the code: README.md stays a short user guide, docs/configuration.md
 * is what scripts/config-reference.mjs makes of the schema and config/config.yaml, every relative
 * link (and #anchor) resolves, and every script in scripts/ is described somewhere.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const README = join(ROOT, 'README.md');
const DOCS = join(ROOT, 'docs');
const GENERATOR = join(ROOT, 'scripts', 'config-reference.mjs');

const docFiles = (): string[] => [README, ...readdirSync(DOCS).filter((f) => f.endsWith('.md')).map((f) => join(DOCS, f))];
const read = (file: string): string => readFileSync(file, 'utf8');

/** The text outside fenced code blocks and inline code spans. */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** [text](target) links of a markdown file, outside code. */
function links(text: string): string[] {
  const out: string[] = [];
  for (const m of prose(text).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push(m[1]);
  return out;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of read(file).replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

describe('README.md', () => {
  it('is a user guide of at most 12,000 bytes', () => {
    expect(statSync(README).size).toBeLessThanOrEqual(12_000);
  });

  it('links to every page under docs/', () => {
    const linked = new Set(links(read(README)).map((l) => l.split('#')[0]));
    const pages = readdirSync(DOCS).filter((f) => f.endsWith('.md'));
    expect(pages.filter((p) => !linked.has(`docs/${p}`))).toEqual([]);
  });
});

describe('README.md and docs/', () => {
  it('every relative link points to a file of the repository (and an anchor to a heading)', () => {
    const broken: string[] = [];
    for (const file of docFiles()) {
      for (const link of links(read(file))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:, ...
        const [path, fragment] = link.split('#', 2);
        const target = path ? resolve(dirname(file), decodeURIComponent(path)) : file;
        const where = `${relative(ROOT, file)}: ${link}`;
        if (!target.startsWith(ROOT) || !existsSync(target)) broken.push(`${where} (no such file)`);
        else if (fragment && target.endsWith('.md') && !anchors(target).has(fragment)) broken.push(`${where} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('mention no SPEC file, shared/ folder or issue numbers', () => {
    const found: string[] = [];
    for (const file of docFiles()) {
      read(file)
        .split('\n')
        .forEach((line, i) => {
          if (/SPEC/.test(line) || /\bshared\/|\bissues? #?\d+/i.test(line)) found.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(found).toEqual([]);
  });

  it('name every script of scripts/', () => {
    const expected = ['bench', 'bench-models', 'bench-plot.mjs', 'check-tensorrt-build', 'config-reference.mjs', 'demo', 'fetch-node16', 'install', 'lint-native', 'make-dataset', 'make-sample-video', 'setup', 'uninstall', 'test-slow', 'dataset', 'train'];
    const present = readdirSync(join(ROOT, 'scripts'));
    const text = docFiles().map(read).join('\n');
    const unnamed = [...new Set([...expected, ...present])].filter((name) => !new RegExp(`scripts/${name.replace(/[.]/g, '\\.')}(?![\\w.-])`).test(text));
    expect(unnamed).toEqual([]);
  });

  it('have valid tables: every row has as many cells as the header', () => {
    const bad: string[] = [];
    for (const file of docFiles()) {
      const lines = read(file).replace(/^```[\s\S]*?^```/gm, (block) => block.replace(/[^\n]/g, '')).split('\n');
      let columns = 0;
      lines.forEach((line, i) => {
        if (!line.startsWith('|')) {
          columns = 0;
          return;
        }
        const cells = line.replace(/`[^`]*`/g, (code) => code.replace(/\\\|/g, '')).replace(/\\\|/g, '').split('|').length - 2;
        if (!columns) columns = cells;
        else if (cells !== columns) bad.push(`${relative(ROOT, file)}:${i + 1}: ${cells} cells, the header has ${columns}`);
      });
    }
    expect(bad).toEqual([]);
  });
});

describe('docs/configuration.md', () => {
  type Render = (schema: ObjectSchema, configText: string) => { markdown: string; missing: string[]; unknown: string[] };
  const load = async () => (await import(pathToFileURL(GENERATOR).href)) as { render: Render };

  it('is what scripts/config-reference.mjs makes of the schema and config/config.yaml', async () => {
    const { render } = await load();
    const { markdown, unknown } = render(configSchema, read(join(ROOT, 'config', 'config.yaml')));
    expect(unknown, 'config/config.yaml keys the schema does not know').toEqual([]);
    // on a difference: run node scripts/config-reference.mjs (after npx tsc -p tsconfig.json)
    expect(read(join(DOCS, 'configuration.md')) === markdown, 'docs/configuration.md is out of date: run node scripts/config-reference.mjs').toBe(true);
  });

  it('has a row for every key of the schema, with its default', async () => {
    const { render } = await load();
    const { markdown } = render(configSchema, read(join(ROOT, 'config', 'config.yaml')));
    expect(markdown).toContain('| `mqtt.topic_prefix` | string | `trt-detect` | topics:');
    expect(markdown).toContain('| `cameras.<name>.source` | string | **required** |');
    expect(markdown).toMatch(/\| `model\.backend` \| `auto` \\\| `tensorrt` \\\| `onnxruntime` \| `auto` \|/);
    expect(markdown).toContain('| `http.port` | integer 1 to 65535 | `9100` |');
  });

  const schemaJs = join(ROOT, 'dist', 'daemon', 'config', 'config-schema.js');
  const distFresh = existsSync(schemaJs) && statSync(schemaJs).mtimeMs >= statSync(join(ROOT, 'daemon', 'config', 'config-schema.ts')).mtimeMs;

  it.skipIf(!distFresh)('node scripts/config-reference.mjs --check passes (needs dist/ built from the current schema)', () => {
    const r = spawnSync(process.execPath, [GENERATOR, '--check'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the generator says what to do about bad arguments, in one line', () => {
    const r = spawnSync(process.execPath, [GENERATOR, '--chek'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('usage: node scripts/config-reference.mjs [--check]');
  });
});

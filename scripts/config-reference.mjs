#!/usr/bin/env node
// Writes docs/configuration.md, the configuration reference, from two sources:
//   - the schema (daemon/config/config-schema.ts, compiled to dist/daemon/config/config-schema.js):
//     every key, its type, range, allowed values and default;
//   - the comments of config/config.yaml (the commented reference config): the description of
//     each key is the `# comment` on its line plus the comment-only lines that continue it.
// So the words live in config/config.yaml and the facts in the schema; this page only joins them.
//
//   node scripts/config-reference.mjs           write docs/configuration.md
//   node scripts/config-reference.mjs --check   exit 1 when docs/configuration.md is out of date
//
// Needs the compiled daemon: `npm run setup` (or `npx tsc -p tsconfig.json`) makes dist/.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCHEMA_JS = join(ROOT, 'dist/daemon/config/config-schema.js');
const SCHEMA_TS = join(ROOT, 'daemon/config/config-schema.ts');
const CONFIG_YAML = join(ROOT, 'config/config.yaml');
const OUT = join(ROOT, 'docs/configuration.md');
const NAME = 'scripts/config-reference.mjs';

// ---------------------------------------------------------------------------------------------
// config/config.yaml's comments, keyed by YAML path

/**
 * Reads `key: value   # comment` lines (and `# key: value   # comment` lines, keys shown commented
 * out) with the comment-only lines that follow them further indented, and returns
 * Map<raw YAML path, {comment, line}>. Paths use the YAML keys as written (cameras.demo.source).
 */
export function parseComments(text) {
  const out = new Map();
  const stack = []; // {indent, key}
  let last = null; // the entry that comment-only lines may continue
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\s+$/, '');
    if (line === '') {
      last = null;
      return;
    }
    const indent = line.length - line.trimStart().length;
    const body = line.trimStart();
    if (body.startsWith('#')) {
      // a key shown commented out (`# key: value`), never a continuation: examples nest them
      const commented = /^#\s?([A-Za-z_][\w-]*):\s+(\S.*)$/.exec(body);
      // a continuation: further right than the key it continues, with no blank line between
      if (!commented && last && indent > last.indent) {
        const more = body.replace(/^#\s*/, '');
        if (more) last.entry.comment = last.entry.comment ? `${last.entry.comment} ${more}` : more;
        return;
      }
      if (!commented) {
        last = null;
        return;
      }
      keyLine(indent, commented[1], commented[2], i);
      return;
    }
    const m = /^([A-Za-z_][\w-]*):(.*)$/.exec(body);
    if (!m) {
      last = null;
      return;
    }
    keyLine(indent, m[1], m[2], i);
  });
  return out;

  function keyLine(indent, key, rest, i) {
    while (stack.length && stack[stack.length - 1].indent >= indent) stack.pop();
    stack.push({ indent, key });
    const path = stack.map((s) => s.key).join('.');
    const c = /(?:^|\s)#\s?(.*)$/.exec(rest);
    const entry = { comment: c ? c[1].trim() : '', line: i + 1 };
    out.set(path, entry);
    last = { indent, entry };
  }
}

// ---------------------------------------------------------------------------------------------
// the schema, walked into rows

const code = (v) => `\`${v}\``;

function typeText(s) {
  const orNull = s.nullable ? ', or `null`' : '';
  switch (s.type) {
    case 'string':
      return `string${orNull}`;
    case 'number': {
      const what = s.integer ? 'integer' : 'number';
      let range = '';
      if (s.min !== undefined && s.max !== undefined) range = ` ${s.min} to ${s.max}`;
      else if (s.min !== undefined) range = ` ≥ ${s.min}`;
      if (s.above !== undefined) range = s.max !== undefined ? ` > ${s.above}, ≤ ${s.max}` : ` > ${s.above}`;
      else if (s.max !== undefined && s.min === undefined) range = ` ≤ ${s.max}`;
      return `${what}${range}${orNull}`;
    }
    case 'boolean':
      return 'boolean';
    case 'enum':
      return s.values.map(code).join(' \\| ');
    case 'array': {
      const item = s.items.type === 'string' ? 'strings' : s.items.type === 'number' ? 'numbers' : `${s.items.type}s`;
      const orString = s.fromString ? ', or a string' : '';
      return `list of ${s.length !== undefined ? `${s.length} ` : ''}${item}${orString}${orNull}`;
    }
    case 'object':
      return 'object';
    case 'map': {
      const words = s.words ? `${s.words.map(code).join(' \\| ')} \\| ` : '';
      const value = s.values.type === 'object' ? 'settings' : s.values.type;
      return `${words}mapping: name → ${value}`;
    }
    default:
      return s.type;
  }
}

function valueText(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(valueText).join(', ')}]`;
  return String(v);
}

function defaultText(s) {
  if ('default' in s && s.default !== undefined) return code(valueText(s.default));
  if (s.type === 'object') return '';
  if (s.type === 'map') return s.minEntries ? `at least ${s.minEntries} entry` : '`{}`';
  if (s.optional) return 'unset';
  return '**required**';
}

/** Turns a raw YAML path into the schema's path (a map's entry names become `<name>`). */
function schemaPath(schema, rawPath) {
  const parts = [];
  let s = schema;
  for (const seg of rawPath.split('.')) {
    if (s && s.type === 'object') {
      parts.push(seg);
      s = s.fields[seg];
    } else if (s && s.type === 'map' && (s.values.type === 'object' || s.values.type === 'map')) {
      parts.push('<name>');
      s = s.values;
    } else {
      parts.push(seg);
      s = undefined;
    }
  }
  return { path: parts.join('.'), known: s !== undefined };
}

/** Every key of the schema, depth first, as {path, schema}; maps of settings recurse under `<name>`. */
function walk(schema, prefix = '') {
  const rows = [];
  for (const [key, s] of Object.entries(schema.fields)) {
    const path = prefix ? `${prefix}.${key}` : key;
    rows.push({ path, schema: s });
    if (s.type === 'object') rows.push(...walk(s, path));
    if (s.type === 'map' && s.values.type === 'object') rows.push(...walk(s.values, `${path}.<name>`));
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// markdown

/** A config.yaml comment as table-cell text: markdown's special characters kept literal. */
function cell(text) {
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) =>
      i % 2 ? part.replace(/\|/g, '\\|') : part.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\*/g, '\\*'),
    )
    .join('');
}

const INTRO = `# Configuration reference

<!-- Generated by scripts/config-reference.mjs from daemon/config/config-schema.ts (types, ranges,
defaults) and the comments of config/config.yaml (descriptions). Do not edit by hand: change those
files and run \`node scripts/config-reference.mjs\`; the docs test fails when this page is out of date. -->

trt-detect reads one YAML file: \`trt-detect run -c FILE\`, by default \`/etc/trt-detect/config.yaml\`
(what \`scripts/install\` writes), else \`./config/config.yaml\`.
[config/config.yaml](../config/config.yaml) is the commented reference: every key with its default.
Examples per camera kind are in [config/examples/](../config/examples/).

## How a config is read

- Relative paths resolve against \`base_dir\`, or against the current directory when \`base_dir\`
  is unset.
- Values may use \`\${ENV_VAR}\` references, e.g. \`password: \${MQTT_PASSWORD}\`.
- Keys you leave out take the defaults below; only \`cameras\` (with a \`source\` each) is required
  for \`run\`. \`detect\`, \`eval\`, \`bench\` and \`build-engine\` with \`-c FILE\` use only the
  \`model\` and \`detect\` sections and need no cameras.
- The file is validated before anything starts. Errors name the file, line, column and key path,
  and say what to do:

\`\`\`
config.yaml:14:5: cameras.front.source: unsupported scheme "rtps" (expected csi, rtsp, v4l2, file)
config.yaml:3:3: model.pth: unknown key (did you mean "path"?)
\`\`\`

- \`trt-detect check-config -c FILE\` shows what a config would run. Besides the keys it checks
  that the model and file sources exist and that the recording folders can be written, and it
  loads an \`.onnx\` model with ONNX Runtime: a file that is not a model, an output layout it does
  not know, or labels that do not match the classes are reported here rather than at \`run\`.
- \`systemctl reload trt-detect\` (SIGHUP) re-reads the file: unchanged cameras keep running, a
  broken file is rejected and the running config stays ([service.md](service.md)).

Types: "integer 1 to 65535" includes both ends; a list of choices means exactly one of them.
`;

const SECTION_TITLES = {
  '': 'Top level',
  model: '`model`: the detector model',
  detect: '`detect`: detection settings',
  cameras: '`cameras.<name>`: one entry per camera',
  mqtt: '`mqtt`: the broker and the messages',
  rtsp_server: '`rtsp_server`: the annotated RTSP output',
  media: '`media`: decoder and encoder processes',
  http: '`http`: /healthz, /metrics and calibration capture',
  log: '`log`',
};

const SECTION_LINKS = {
  model: 'More: [models.md](models.md).',
  cameras: 'More: [sources.md](sources.md) (source kinds, decoders, reconnecting) and [outputs.md](outputs.md) (recordings, RTSP output).',
  mqtt: 'More: [mqtt.md](mqtt.md).',
  rtsp_server: 'More: [outputs.md](outputs.md#annotated-rtsp-output).',
  http: 'More: [http.md](http.md).',
};

export function render(schema, configText) {
  const comments = parseComments(configText);
  const byPath = new Map();
  const unknown = [];
  for (const [raw, entry] of comments) {
    const { path, known } = schemaPath(schema, raw);
    if (!known) unknown.push(raw);
    if (!byPath.has(path) || (!byPath.get(path).comment && entry.comment)) byPath.set(path, entry);
  }
  const rows = walk(schema);
  const missing = [];
  const describe = (path) => {
    const own = byPath.get(path)?.comment;
    if (own) return own;
    // a camera's detect.* keys override the detect section: reuse its words
    const m = /^cameras\.<name>\.detect\.(.+)$/.exec(path);
    if (m) {
      const shared = byPath.get(`detect.${m[1]}`)?.comment;
      return `Overrides \`detect.${m[1]}\` for this camera${shared ? `: ${shared}` : ''}`;
    }
    // a key described together with an earlier sibling ("(px/255 - mean) / std" on mean's line)
    const cut = path.lastIndexOf('.');
    const parent = path.slice(0, cut + 1);
    const key = path.slice(cut + 1);
    const siblings = rows.filter((r) => r.path.startsWith(parent) && !r.path.slice(parent.length).includes('.')).map((r) => r.path);
    const named = new RegExp(`(^|[^\\w.])${key}($|[^\\w])`);
    for (const other of siblings.slice(0, siblings.indexOf(path)).reverse()) {
      if (named.test(byPath.get(other)?.comment ?? '')) return `See \`${other}\`.`;
    }
    return '';
  };

  // sections: top-level scalars together, then one table per top-level object or map
  const sections = [];
  const top = { key: '', rows: [] };
  sections.push(top);
  for (const row of rows) {
    const head = row.path.split('.')[0];
    if (!row.path.includes('.')) {
      if (row.schema.type === 'object' || row.schema.type === 'map')
        sections.push({ key: head, schema: row.schema, rows: row.schema.type === 'map' && row.schema.values.type !== 'object' ? [row] : [] });
      else top.rows.push(row);
    } else {
      sections.find((s) => s.key === head).rows.push(row);
    }
  }

  let md = INTRO;
  for (const sec of sections) {
    if (!sec.rows.length) continue;
    md += `\n## ${SECTION_TITLES[sec.key] ?? `\`${sec.key}\``}\n\n`;
    const intro = sec.key ? byPath.get(schemaPath(schema, sec.key).path)?.comment : '';
    if (intro) md += `${cell(intro[0].toUpperCase() + intro.slice(1))}.\n\n`;
    if (sec.schema?.type === 'map' && sec.schema.minEntries)
      md += `At least ${sec.schema.minEntries} entry. Names may use letters, digits, \`_\` and \`-\`.\n\n`;
    if (SECTION_LINKS[sec.key]) md += `${SECTION_LINKS[sec.key]}\n\n`;
    md += '| key | type | default | description |\n|---|---|---|---|\n';
    for (const { path, schema: s } of sec.rows) {
      const text = describe(path);
      if (!text && s.type !== 'object') missing.push(path);
      md += `| ${code(path)} | ${typeText(s)} | ${defaultText(s)} | ${text ? cell(text) : '—'} |\n`;
    }
  }
  return { markdown: md, missing, unknown };
}

// ---------------------------------------------------------------------------------------------

async function main(argv) {
  const check = argv.includes('--check');
  const bad = argv.filter((a) => a !== '--check');
  if (bad.length) {
    console.error(`${NAME}: unknown argument ${bad[0]} (usage: node ${NAME} [--check])`);
    return 2;
  }
  if (!existsSync(SCHEMA_JS)) {
    console.error(`${NAME}: ${relative(ROOT, SCHEMA_JS)} is missing: run npm run setup (or npx tsc -p tsconfig.json) first`);
    return 2;
  }
  if (existsSync(SCHEMA_TS) && statSync(SCHEMA_TS).mtimeMs > statSync(SCHEMA_JS).mtimeMs) {
    console.error(
      `${NAME}: warning: ${relative(ROOT, SCHEMA_JS)} is older than ${relative(ROOT, SCHEMA_TS)} (run npx tsc -p tsconfig.json for the current schema)`,
    );
  }
  const { configSchema } = await import(pathToFileURL(SCHEMA_JS).href);
  const { markdown, missing, unknown } = render(configSchema, readFileSync(CONFIG_YAML, 'utf8'));
  const current = existsSync(OUT) ? readFileSync(OUT, 'utf8') : null;
  if (check) {
    if (current === markdown) return 0;
    console.error(`${relative(ROOT, OUT)} is out of date with the config schema or config/config.yaml: run node ${NAME}`);
    return 1;
  }
  if (unknown.length) console.error(`${NAME}: note: config/config.yaml has keys the schema does not know: ${unknown.join(', ')}`);
  if (missing.length) console.error(`${NAME}: note: no comment in config/config.yaml for ${missing.join(', ')}`);
  if (current === markdown) {
    console.log(`${relative(ROOT, OUT)} is up to date`);
  } else {
    writeFileSync(OUT, markdown);
    console.log(`wrote ${relative(ROOT, OUT)}`);
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`${NAME}: ${err?.message ?? err}`);
      process.exit(1);
    },
  );
}

import { isAlias, isMap, isScalar, isSeq, type Document, type Pair } from 'yaml';
import { closest } from './suggest.js';

/**
 * A small declarative schema for config.yaml, and a validator that walks the YAML syntax tree (not
 * the plain JS value) so that every problem keeps the line and column of the key it is about.
 *
 * A field is required when it has no `default` and is not `optional`; objects are filled from their
 * fields' defaults when absent; `optional` fields without a value are left out of the result.
 */
interface Common {
  /** left out of the result when absent (no default) */
  optional?: boolean;
}
export interface StringSchema extends Common {
  type: 'string';
  default?: string | null;
  nullable?: boolean;
  /** returns "what is wrong (what to do)" or null when the value is fine */
  check?: (value: string) => string | null;
}
export interface NumberSchema extends Common {
  type: 'number';
  integer?: boolean;
  min?: number;
  max?: number;
  /** the value must be greater than this */
  above?: number;
  default?: number | null;
  nullable?: boolean;
  check?: (value: number) => string | null;
}
export interface BooleanSchema extends Common {
  type: 'boolean';
  default?: boolean;
}
export interface EnumSchema extends Common {
  type: 'enum';
  values: readonly string[];
  default?: string;
}
export interface ArraySchema extends Common {
  type: 'array';
  items: Schema;
  /** exact number of items */
  length?: number;
  default?: unknown[] | null;
  nullable?: boolean;
  /** what one item looks like, for the "what to do" part of a message */
  example: string;
  /**
   * a string that may stand for the whole list (a zone's Frigate-style "x1,y1,x2,y2,..."): returns
   * the list, or "what is wrong (what to do)"
   */
  fromString?: (text: string) => unknown[] | string;
}
export interface ObjectSchema extends Common {
  type: 'object';
  fields: Record<string, Schema>;
  /** keys users often write by mistake -> the key they meant */
  aliases?: Record<string, string>;
}
export interface MapSchema extends Common {
  type: 'map';
  /** keys must match; `keyProblem` is the message when one does not */
  keyPattern: RegExp;
  keyProblem: string;
  values: Schema;
  /** at least this many entries, else `emptyProblem` */
  minEntries?: number;
  emptyProblem?: string;
  /** single words that may stand instead of the mapping (`label_map: none`); `default` is one of them */
  words?: readonly string[];
  default?: string;
}
export type Schema = StringSchema | NumberSchema | BooleanSchema | EnumSchema | ArraySchema | ObjectSchema | MapSchema;

/** One problem: where (offset into the text), which key, and "what is wrong (what to do)". */
export interface Issue {
  offset: number;
  path: string;
  problem: string;
}

const MISSING = Symbol('missing');
type YamlNode = unknown;

function describeValue(node: YamlNode): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'no value';
    if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 37)}...` : v}"`;
    return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : JSON.stringify(v);
  }
  return 'an unsupported value';
}

function rangeText(s: NumberSchema): string {
  const what = s.integer ? 'an integer' : 'a number';
  if (s.min !== undefined && s.max !== undefined) return `${what} from ${s.min} to ${s.max}`;
  if (s.min !== undefined) return `${what} >= ${s.min}`;
  if (s.above !== undefined) return `${what} > ${s.above}`;
  if (s.max !== undefined) return `${what} <= ${s.max}`;
  return what;
}

function hasDefault(schema: Schema): boolean {
  return 'default' in schema && schema.default !== undefined;
}

export function childPath(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export class Validator {
  readonly issues: Issue[] = [];
  /** offset of the key (or list item) each visited path was written at */
  readonly positions = new Map<string, number>();

  constructor(
    private readonly doc: Document,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  private report(offset: number, path: string, problem: string): typeof MISSING {
    this.issues.push({ offset, path, problem });
    return MISSING;
  }

  private resolve(node: YamlNode): YamlNode {
    return isAlias(node) ? node.resolve(this.doc) : node;
  }

  /**
   * Validates `node` (null/undefined when the key is absent) against `schema`. `anchor` is the offset
   * problems are reported at: the key the value belongs to, or the list item itself.
   * Returns the value with defaults applied, or MISSING after a problem (or an absent optional key).
   */
  validate(schema: Schema, rawNode: YamlNode, path: string, anchor: number): unknown {
    this.positions.set(path, anchor);
    const node = this.resolve(rawNode);
    const absent = node === null || node === undefined;
    const wordDefault = schema.type === 'map' && schema.default !== undefined;
    if (absent) {
      if (schema.type === 'object') return this.object(schema, null, path, anchor);
      if (schema.type === 'map' && !wordDefault) return this.map(schema, null, path, anchor);
      if (hasDefault(schema)) return clone((schema as { default: unknown }).default);
      if (schema.optional) return MISSING;
      return this.report(anchor, path, `missing required key (add ${path.split('.').pop()}: ...)`);
    }
    const isNull = isScalar(node) && node.value === null;
    if (isNull) {
      if (schema.type === 'object') return this.object(schema, null, path, anchor);
      if (schema.type === 'map') return wordDefault ? schema.default : this.map(schema, null, path, anchor);
      if ('nullable' in schema && schema.nullable) return null;
      if (schema.optional) return MISSING;
      const dflt = hasDefault(schema) ? ` or remove the key for the default ${JSON.stringify((schema as { default: unknown }).default)}` : '';
      return this.report(anchor, path, `no value (write ${this.expected(schema)}${dflt})`);
    }
    switch (schema.type) {
      case 'object':
        if (!isMap(node))
          return this.report(
            anchor,
            path,
            `expected a mapping of keys, got ${describeValue(node)} (write ${path.split('.').pop()}: followed by indented keys)`,
          );
        return this.object(schema, node, path, anchor);
      case 'map':
        if (schema.words && isScalar(node)) {
          const word = String(node.value);
          if (schema.words.includes(word)) return word;
          return this.report(
            anchor,
            path,
            `invalid value ${describeValue(node)} (expected ${schema.words.join(' or ')}, or a mapping of names, one indented name: value per entry)`,
          );
        }
        if (!isMap(node)) return this.report(anchor, path, `expected a mapping of names, got ${describeValue(node)} (write one indented name: per entry)`);
        return this.map(schema, node, path, anchor);
      case 'array':
        return this.array(schema, node, path, anchor);
      default:
        return this.scalar(schema, node, path, anchor);
    }
  }

  private expected(schema: Schema): string {
    switch (schema.type) {
      case 'string':
        return 'a string';
      case 'number':
        return rangeText(schema);
      case 'boolean':
        return 'true or false';
      case 'enum':
        return `one of ${schema.values.join(', ')}`;
      case 'array':
        return `a list such as ${schema.example}`;
      default:
        return 'a mapping';
    }
  }

  private scalar(schema: StringSchema | NumberSchema | BooleanSchema | EnumSchema, node: YamlNode, path: string, anchor: number): unknown {
    if (!isScalar(node)) return this.report(anchor, path, `expected ${this.expected(schema)}, got ${describeValue(node)} (write a single value)`);
    const v = node.value;
    switch (schema.type) {
      case 'boolean':
        if (typeof v !== 'boolean') return this.report(anchor, path, `expected true or false, got ${describeValue(node)} (write true or false without quotes)`);
        return v;
      case 'enum': {
        const s = typeof v === 'string' ? v : String(v);
        if (!schema.values.includes(s)) {
          const near = closest(s, schema.values);
          const hint = near ? `did you mean "${near}"? expected one of ${schema.values.join(', ')}` : `expected one of ${schema.values.join(', ')}`;
          return this.report(anchor, path, `invalid value ${describeValue(node)} (${hint})`);
        }
        return s;
      }
      case 'number': {
        if (typeof v !== 'number' && typeof v !== 'bigint') {
          const quotedNumber = typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v));
          return this.report(
            anchor,
            path,
            `expected ${rangeText(schema)}, got ${describeValue(node)}${quotedNumber ? ' (write the number without quotes)' : ''}`,
          );
        }
        const n = Number(v);
        const bad =
          !Number.isFinite(n) ||
          (schema.integer && !Number.isInteger(n)) ||
          (schema.min !== undefined && n < schema.min) ||
          (schema.max !== undefined && n > schema.max) ||
          (schema.above !== undefined && n <= schema.above);
        if (bad) return this.report(anchor, path, `${describeValue(node)} is out of range (expected ${rangeText(schema)})`);
        const problem = schema.check?.(n);
        if (problem) return this.report(anchor, path, problem);
        return n;
      }
      case 'string': {
        if (typeof v !== 'string') {
          return this.report(anchor, path, `expected a string, got ${describeValue(node)} (put the value in quotes)`);
        }
        let s = v;
        if (s.includes('${')) {
          let missing = null as string | null;
          s = s.replace(ENV_REF, (_, name: string) => {
            const value = this.env[name];
            if (value === undefined) missing = missing ?? name;
            return value ?? '';
          });
          if (missing)
            return this.report(
              anchor,
              path,
              `environment variable ${missing} is not set (set it for the service, e.g. in /etc/default/trt-detect, or write the value)`,
            );
        }
        const problem = schema.check?.(s);
        if (problem) return this.report(anchor, path, problem);
        return s;
      }
    }
  }

  private array(schema: ArraySchema, node: YamlNode, path: string, anchor: number): unknown {
    if (schema.fromString && isScalar(node) && typeof node.value === 'string') {
      const list = schema.fromString(node.value);
      return typeof list === 'string' ? this.report(anchor, path, list) : list;
    }
    if (!isSeq(node)) return this.report(anchor, path, `expected a list, got ${describeValue(node)} (write a list such as ${schema.example})`);
    if (schema.length !== undefined && node.items.length !== schema.length) {
      return this.report(anchor, path, `expected ${schema.length} items, got ${node.items.length} (write a list such as ${schema.example})`);
    }
    const out: unknown[] = [];
    let failed = false;
    node.items.forEach((item, i) => {
      const itemNode = this.resolve(item);
      const offset = offsetOf(itemNode) ?? anchor;
      const v = this.validate(schema.items, itemNode ?? null, `${path}[${i}]`, offset);
      if (v === MISSING) failed = true;
      else out.push(v);
    });
    return failed ? MISSING : out;
  }

  /** The pairs of a mapping, with `<<` merge keys expanded (explicit keys win). */
  private pairs(node: YamlNode): Pair[] {
    if (!isMap(node)) return [];
    const own: Pair[] = [];
    const merged: Pair[] = [];
    for (const pair of node.items) {
      const key = keyText(pair.key);
      if (key === '<<') {
        const src = this.resolve(pair.value);
        const sources = isSeq(src) ? src.items.map((i) => this.resolve(i)) : [src];
        for (const m of sources) merged.push(...this.pairs(m));
      } else {
        own.push(pair);
      }
    }
    const ownKeys = new Set(own.map((p) => keyText(p.key)));
    return [...own, ...merged.filter((p) => !ownKeys.has(keyText(p.key)))];
  }

  private object(schema: ObjectSchema, node: YamlNode, path: string, anchor: number): unknown {
    const out: Record<string, unknown> = {};
    const seen = new Map<string, Pair>();
    let failed = false;
    for (const pair of this.pairs(node)) {
      const key = keyText(pair.key);
      const keyOffset = offsetOf(pair.key) ?? anchor;
      const here = childPath(path, key ?? '?');
      if (key === null) {
        this.report(keyOffset, path || '(top level)', 'keys must be plain names (write name: value)');
        failed = true;
        continue;
      }
      if (!(key in schema.fields)) {
        const names = Object.keys(schema.fields);
        const near = schema.aliases?.[key] ?? closest(key, names);
        this.report(keyOffset, here, near ? `unknown key (did you mean "${near}"?)` : `unknown key (expected one of ${names.join(', ')})`);
        failed = true;
        continue;
      }
      seen.set(key, pair);
    }
    for (const [key, fieldSchema] of Object.entries(schema.fields)) {
      const pair = seen.get(key);
      const here = childPath(path, key);
      const v = pair ? this.validate(fieldSchema, pair.value ?? null, here, offsetOf(pair.key) ?? anchor) : this.validate(fieldSchema, null, here, anchor);
      if (v === MISSING) {
        if (!fieldSchema.optional || pair) failed = true;
      } else {
        out[key] = v;
      }
    }
    return failed ? MISSING : out;
  }

  private map(schema: MapSchema, node: YamlNode, path: string, anchor: number): unknown {
    const out: Record<string, unknown> = {};
    let failed = false;
    const pairs = this.pairs(node);
    for (const pair of pairs) {
      const key = keyText(pair.key);
      const keyOffset = offsetOf(pair.key) ?? anchor;
      if (key === null || !schema.keyPattern.test(key)) {
        this.report(keyOffset, childPath(path, key ?? '?'), schema.keyProblem);
        failed = true;
        continue;
      }
      const v = this.validate(schema.values, pair.value ?? null, childPath(path, key), keyOffset);
      if (v === MISSING) failed = true;
      else out[key] = v;
    }
    if (!failed && schema.minEntries !== undefined && pairs.length < schema.minEntries) {
      return this.report(anchor, path, schema.emptyProblem ?? `expected at least ${schema.minEntries} entries`);
    }
    return failed ? MISSING : out;
  }
}

export function isMissing(v: unknown): v is typeof MISSING {
  return v === MISSING;
}

function keyText(key: unknown): string | null {
  if (isScalar(key)) {
    const v = key.value;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
    return null;
  }
  if (typeof key === 'string') return key;
  return null;
}

function offsetOf(node: unknown): number | null {
  const range = (node as { range?: [number, number, number] | null } | null)?.range;
  return range ? range[0] : null;
}

function clone<T>(v: T): T {
  return v === null || typeof v !== 'object' ? v : (JSON.parse(JSON.stringify(v)) as T);
}

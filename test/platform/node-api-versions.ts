/**
 * Static check that TypeScript code uses no Node.js API newer than a given Node version.
 *
 * Every identifier of the program is resolved with the TypeScript checker; when it names a
 * declaration from @types/node, that declaration's `@since` tag (e.g. "v18.3.0, v16.17.0": added
 * in 18.3, backported to 16.17) says which Node versions have it. A few web globals carry no
 * `@since` in @types/node; they are listed here with the Node version that made them available
 * without a flag. ECMAScript built-ins are covered by tsconfig's `lib` (ES2021 = what Node 16 has).
 */
import { dirname, relative } from 'node:path';
import ts from 'typescript';

export interface NewerApi {
  /** file:line:col relative to the project root */
  where: string;
  /** e.g. "AbortSignal.timeout" or "parseArgs" */
  name: string;
  /** the Node versions that have it, e.g. "v18.3.0" */
  since: string;
}

/** Globals of @types/node without an `@since` tag: Node version that has them unflagged. */
const UNTAGGED_GLOBALS = new Map<string, string>([
  ['fetch', 'v18.0.0'],
  ['Request', 'v18.0.0'],
  ['Response', 'v18.0.0'],
  ['Headers', 'v18.0.0'],
  ['FormData', 'v18.0.0'],
  ['WebSocket', 'v22.4.0'],
  ['structuredClone', 'v17.0.0'],
  ['AbortSignal.timeout', 'v17.3.0'],
  ['AbortSignal.any', 'v20.3.0'],
  ['navigator', 'v21.0.0'],
  ['CustomEvent', 'v19.0.0'],
  ['File', 'v20.0.0'],
]);

type Version = [number, number, number];

function parseVersion(text: string): Version | null {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/**
 * Whether a Node `target` has an API added in `since` ("v18.3.0, v16.17.0"): some listed version
 * is on the target's major line (or an older major) and not newer than the target.
 */
export function availableIn(since: string, target: string): boolean {
  const t = parseVersion(target);
  if (!t) throw new Error(`bad Node version ${target}`);
  const versions = since
    .split(',')
    .map(parseVersion)
    .filter((v): v is Version => v !== null);
  if (versions.length === 0) return true; // "@since" without a version: nothing to say
  return versions.some((v) => (v[0] === t[0] ? compare(v, t) <= 0 : v[0] < t[0]));
}

function isFromTypesNode(decl: ts.Declaration): boolean {
  return /[\\/]node_modules[\\/]@types[\\/]node[\\/]/.test(decl.getSourceFile().fileName);
}

function sinceOf(symbol: ts.Symbol, checker: ts.TypeChecker): string | null {
  for (const tag of symbol.getJsDocTags(checker)) {
    if (tag.name === 'since' && tag.text) return ts.displayPartsToString(tag.text);
  }
  return null;
}

/** The name an untagged global is listed under: `fetch`, or `AbortSignal.timeout` for a member. */
function untaggedName(node: ts.Identifier): string {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node && ts.isIdentifier(parent.expression)) {
    return `${parent.expression.text}.${node.text}`;
  }
  return node.text;
}

/** Node APIs newer than `target` used by the program that `tsconfigPath` describes. */
export function findNewerNodeApis(tsconfigPath: string, target: string): NewerApi[] {
  const root = dirname(tsconfigPath);
  const read = ts.readConfigFile(tsconfigPath, (p) => ts.sys.readFile(p));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root);
  const program = ts.createProgram(parsed.fileNames, { ...parsed.options, noEmit: true });
  const checker = program.getTypeChecker();
  const found: NewerApi[] = [];
  const seen = new Set<string>();

  for (const file of program.getSourceFiles()) {
    if (file.isDeclarationFile || file.fileName.includes('/node_modules/')) continue;
    const visit = (node: ts.Node): void => {
      if (ts.isIdentifier(node)) {
        let symbol = checker.getSymbolAtLocation(node);
        if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
        const decls = symbol?.getDeclarations() ?? [];
        if (symbol && decls.length > 0 && decls.every(isFromTypesNode)) {
          const name = untaggedName(node);
          const since = sinceOf(symbol, checker) ?? UNTAGGED_GLOBALS.get(name) ?? null;
          if (since && !availableIn(since, target)) {
            const { line, character } = file.getLineAndCharacterOfPosition(node.getStart(file));
            const where = `${relative(root, file.fileName)}:${line + 1}:${character + 1}`;
            if (!seen.has(where)) {
              seen.add(where);
              found.push({ where, name, since });
            }
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return found;
}

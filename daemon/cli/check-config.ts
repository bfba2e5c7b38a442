import { defaultConfigPath, describeConfig, loadConfig } from '../config/index.js';
import { ConfigError } from '../errors.js';
import { parseCommandArgs, type Command } from './args.js';

const HELP = `Usage: trt-detect check-config [-c FILE]

Validates a config.yaml (keys, types, ranges, sources, and that the model and file sources exist)
and prints what trt-detect run would do with it, secrets masked. Problems are printed one per line
as file:line:col: key.path: what is wrong (what to do).

Options:
  -c, --config FILE     config file (default /etc/trt-detect/config.yaml, else ./config/config.yaml)
  -h, --help            this help

Exit codes: 0 valid, 2 invalid.
`;

export const checkConfigCommand: Command = async (argv) => {
  const { values } = parseCommandArgs('check-config', argv, { config: { type: 'string', short: 'c' } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const file = (values.config as string | undefined) ?? defaultConfigPath();
  try {
    const config = loadConfig(file, { checkFiles: true });
    process.stdout.write(`config: ${file}\n${describeConfig(config)}config OK\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
};

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../core/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses a command's arguments with node:util parseArgs (Node 16.17+), turning its errors into
 * one-line ConfigErrors (exit 2) that name the command.
 */
export function parseCommandArgs<O extends Options>(command: string, argv: string[], options: O) {
  try {
    return parseArgs({
      args: joinNegativeValues(argv, options),
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
      strict: true,
    });
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ConfigError(`trt-detect ${command}: ${msg} (see trt-detect ${command} --help)`);
  }
}

/**
 * `--threshold -0.2`: parseArgs takes a value that starts with "-" for another option ("ambiguous").
 * A negative number after an option that takes a value is that option's value: joined as
 * `--threshold=-0.2`, so the range check names the real problem.
 */
function joinNegativeValues(argv: string[], options: Options): string[] {
  const takesValue = (arg: string): boolean => {
    const long = /^--([^=]+)$/.exec(arg);
    if (long) return options[long[1]]?.type === 'string';
    const short = /^-([A-Za-z])$/.exec(arg);
    return short ? Object.values(options).some((o) => o.short === short[1] && o.type === 'string') : false;
  };
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (next !== undefined && /^-\d|^-\.\d/.test(next) && takesValue(argv[i])) {
      out.push(`${argv[i]}=${next}`);
      i++;
    } else out.push(argv[i]);
  }
  return out;
}

/** Every command module exports one of these; it resolves to the process exit code. */
export type Command = (argv: string[]) => Promise<number>;

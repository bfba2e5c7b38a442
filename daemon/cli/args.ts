import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses a command's arguments with node:util parseArgs (Node 16.17+), turning its errors into
 * one-line ConfigErrors (exit 2) that name the command.
 */
export function parseCommandArgs<O extends Options>(command: string, argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: false, strict: true });
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ConfigError(`trt-detect ${command}: ${msg} (see trt-detect ${command} --help)`);
  }
}

/** Every command module exports one of these; it resolves to the process exit code. */
export type Command = (argv: string[]) => Promise<number>;

import { pino, type Logger } from 'pino';
import { maskSecrets } from './secrets.js';

export type { Logger };

/** A log call's fields with secrets masked in their string values (plain objects, one level deep). */
function maskFields(arg: unknown): unknown {
  if (typeof arg === 'string') return maskSecrets(arg);
  if (!arg || typeof arg !== 'object' || Object.getPrototypeOf(arg) !== Object.prototype) return arg;
  let out: Record<string, unknown> | null = null;
  for (const [k, v] of Object.entries(arg)) {
    if (typeof v !== 'string') continue;
    const masked = maskSecrets(v);
    if (masked !== v) (out ??= { ...(arg as Record<string, unknown>) })[k] = masked;
  }
  return out ?? arg;
}

/**
 * JSON lines to stdout (the journal under systemd). Secrets never appear: URL passwords and secret
 * query parameters are masked (core/secrets.ts) in every message and in the string fields of a
 * call's object, and known secret fields are redacted.
 */
export function createLogger(level: string = 'info', destination: NodeJS.WritableStream = process.stdout): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: ['password', '*.password', 'mqtt.password'], censor: '***' },
      hooks: {
        logMethod(args, method) {
          const masked = (args as unknown[]).map(maskFields) as typeof args;
          method.apply(this, masked);
        },
      },
      serializers: {
        source: (s: unknown) => (typeof s === 'string' ? maskSecrets(s) : s),
        url: (s: unknown) => (typeof s === 'string' ? maskSecrets(s) : s),
        err: (e: unknown) => (e instanceof Error ? maskSecrets(e.message) : e),
      },
    },
    destination as pino.DestinationStream,
  );
}

/** A logger that writes nothing (one-shot commands that print their own output). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

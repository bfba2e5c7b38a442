import { pino, type Logger } from 'pino';

export type { Logger };

/** Masks the password of any URL with credentials (rtsp://user:pass@host -> rtsp://user:***@host). */
export function maskUrlPasswords(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
}

/**
 * JSON lines to stdout (the journal under systemd). Secrets never appear: URL passwords are masked
 * in every message and known secret fields are redacted.
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
          const masked = (args as unknown[]).map((a) => (typeof a === 'string' ? maskUrlPasswords(a) : a)) as typeof args;
          method.apply(this, masked);
        },
      },
      serializers: {
        source: (s: unknown) => (typeof s === 'string' ? maskUrlPasswords(s) : s),
        url: (s: unknown) => (typeof s === 'string' ? maskUrlPasswords(s) : s),
        err: (e: unknown) => (e instanceof Error ? maskUrlPasswords(e.message) : e),
      },
    },
    destination as pino.DestinationStream,
  );
}

/** A logger that writes nothing (one-shot commands that print their own output). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

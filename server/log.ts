/**
 * The gateway's log lines: one JSON object per line on stderr, written by pino. Callers pass
 * facts, never credentials; `redact` scrubs anything that looks like a token as a second line of
 * defence.
 */
import { pino } from 'pino';

type Level = 'debug' | 'info' | 'warn' | 'error';

/** A structured logger. */
export interface Log {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const SECRETISH = /\b(pb_[A-Za-z0-9_-]{8,}|Bearer\s+[A-Za-z0-9._~+\/-]+=*)/g;

/**
 * Replaces API tokens and bearer credentials in a string, and any of the `known` secrets the
 * caller holds (an SMTP password, a webhook secret a receiver echoed); very short ones are skipped.
 */
export function redact(text: string, known: readonly string[] = []): string {
  const scrubbed = text.replace(SECRETISH, '[redacted]');
  return known.filter((secret) => secret.length >= 3).reduce((out, secret) => out.split(secret).join('[redacted]'), scrubbed);
}

/**
 * Creates a logger (pino) writing at `level` and above to `write` (stderr by default): JSON lines
 * with `time`, `level` as a word, `message` and the fields, each line passed through `redact`.
 */
export function createLog(level: Level | 'silent', write: (line: string) => void = (line) => process.stderr.write(line)): Log {
  const logger = pino(
    {
      level,
      messageKey: 'message',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    { write: (line: string) => write(redact(line)) },
  );
  const emit = (at: Level) => (message: string, fields: Record<string, unknown> = {}) => logger[at](fields, message);
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

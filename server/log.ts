/**
 * The gateway's log lines: one JSON object per line on stderr. Callers pass facts, never
 * credentials; `redact` scrubs anything that looks like a token as a second line of defence.
 */
type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

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

/** Creates a logger writing at `level` and above to `write` (stderr by default). */
export function createLog(level: Level | 'silent', write: (line: string) => void = (line) => process.stderr.write(line)): Log {
  const emit = (at: Level) => (message: string, fields: Record<string, unknown> = {}) => {
    if (ORDER[at] < ORDER[level]) return;
    write(redact(JSON.stringify({ time: new Date().toISOString(), level: at, message, ...fields })) + '\n');
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/**
 * A real SMTP server (smtp-server) on a free port that requires a login and keeps every message
 * it accepts, parsed by mailparser. `refuse` makes it answer the next recipients with a
 * temporary (451) or permanent (550) error, as real mail servers do.
 */
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface SmtpReceiver {
  /** smtp://user:password@127.0.0.1:port, as SMTP_URL. */
  url: string;
  password: string;
  mails: ParsedMail[];
  /** Refuses the next `times` recipients with this reply code. */
  refuse(code: 451 | 550, times: number): void;
  /** Resolves once `count` mails have arrived; rejects after `timeoutMs`. */
  waitForMails(count: number, timeoutMs?: number): Promise<ParsedMail[]>;
  close(): Promise<void>;
}

export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const user = 'patchbay';
  const password = 'smtp-secret-7Hq2x';
  const mails: ParsedMail[] = [];
  let refusal: { code: number; times: number } = { code: 0, times: 0 };
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    // No DNS here: a reverse lookup of 127.0.0.1 per connection would only time out.
    disableReverseLookup: true,
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === password) return callback(null, { user });
      return callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo(_address, _session, callback) {
      if (refusal.times > 0) {
        refusal.times -= 1;
        const message = refusal.code === 451 ? 'Try again later' : 'No such mailbox';
        return callback(Object.assign(new Error(message), { responseCode: refusal.code }));
      }
      callback();
    },
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push(mail);
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://${user}:${password}@127.0.0.1:${port}`,
    password,
    mails,
    refuse: (code, times) => {
      refusal = { code, times };
    },
    waitForMails: async (count, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (mails.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} mails, got ${mails.length} in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      return mails;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

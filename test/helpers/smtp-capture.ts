import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

/** The test CA's certificate, which is also the server's (self-signed for 127.0.0.1, CA:true). */
export const SMTP_CA_FILE = new URL('../fixtures/smtp/cert.pem', import.meta.url).pathname;
const KEY = readFileSync(new URL('../fixtures/smtp/key.pem', import.meta.url));
const CERT = readFileSync(SMTP_CA_FILE);

/** A mail the capture server accepted, with the session facts a test checks. */
export interface CapturedMail {
  /** The envelope: MAIL FROM and RCPT TO. */
  from: string;
  to: string[];
  /** Whether the session was encrypted (implicit TLS or STARTTLS) when the mail went through. */
  secure: boolean;
  /** The login the client used, when it logged in. */
  login: { user: string; password: string } | undefined;
  parsed: ParsedMail;
}

/**
 * An SMTP server on 127.0.0.1, port 0 (smtp-server), that keeps every mail it accepts. `refuse`
 * scripts replies to RCPT TO, in order (`451` for a try-later, `550` for never), then accepts.
 */
export class SmtpCapture {
  readonly mails: CapturedMail[] = [];
  /** Refusals still to give, as SMTP reply codes. */
  readonly refuse: number[] = [];
  private port = 0;

  private constructor(private readonly server: SMTPServer) {}

  /** `secure` for implicit TLS; otherwise STARTTLS is offered unless disabled (`disabledCommands: ['STARTTLS']`). */
  static async start(options: Pick<SMTPServerOptions, 'secure' | 'disabledCommands' | 'authOptional'> = {}): Promise<SmtpCapture> {
    const logins = new Map<string, { user: string; password: string }>();
    let capture: SmtpCapture | undefined;
    const server = new SMTPServer({
      ...options,
      key: KEY,
      cert: CERT,
      logger: false,
      allowInsecureAuth: false,
      onAuth(auth, session, callback) {
        logins.set(session.id, { user: auth.username ?? '', password: auth.password ?? '' });
        callback(null, { user: auth.username });
      },
      onRcptTo(_address, _session, callback) {
        const code = capture?.refuse.shift();
        if (code === undefined) return callback();
        callback(Object.assign(new Error(code >= 500 ? 'mailbox unavailable' : 'try again later'), { responseCode: code }));
      },
      onData(stream, session, callback) {
        simpleParser(stream)
          .then((parsed) => {
            const envelopeFrom = session.envelope.mailFrom;
            capture?.mails.push({
              from: envelopeFrom ? envelopeFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              secure: session.secure,
              login: logins.get(session.id),
              parsed,
            });
            callback();
          })
          .catch(callback);
      },
    });
    capture = new SmtpCapture(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    capture.port = (server.server.address() as AddressInfo).port;
    return capture;
  }

  get listenPort(): number {
    return this.port;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

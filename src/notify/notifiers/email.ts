import { readFileSync } from 'node:fs';
import type { EmailConfig } from '../../config/notifiers.js';
import type { WatcherEvent } from '../../events/event.js';
import { sanitise } from '../../lib/sanitise.js';
import { cut, escapeHtml, eventFacts, eventFooter, eventTitle, headline, severityOf } from '../facts.js';
import { DeliveryError, type Notifier, type NotifierDeps } from '../notifier.js';

/** A subject longer than this is cut: mail clients show about 80 characters, and RFC 5322 lines stop at 998. */
const SUBJECT_MAX = 200;

/** The mail for an event: the subject names the severity and the summary; the body is plain text and the same as HTML. */
function buildEmail(event: WatcherEvent, config: Pick<EmailConfig, 'from' | 'to'>): { from: string; to: string[]; subject: string; text: string; html: string } {
  const facts = eventFacts(event);
  const text = [headline(event), '', ...facts.map((f) => `${f.label}: ${f.value}`), '', eventFooter(event), ''].join('\n');
  const rows = facts.map((f) => `<tr><th align="left">${escapeHtml(f.label)}</th><td>${escapeHtml(f.value)}</td></tr>`).join('');
  const html = [
    `<h3>${escapeHtml(eventTitle(event))}</h3>`,
    `<p>${escapeHtml(headline(event))}</p>`,
    rows ? `<table>${rows}</table>` : '',
    `<p><small>${escapeHtml(eventFooter(event))}</small></p>`,
  ].join('\n');
  const subject = cut(`[gpu-watcher] ${severityOf(event)}: ${headline(event)}`.replace(/[\r\n]+/g, ' '), SUBJECT_MAX);
  return { from: config.from, to: [...config.to], subject, text, html };
}

/** The parts of a nodemailer error we read: the SMTP reply code and text, or a connection error's code. */
interface SmtpFailure {
  message?: unknown;
  code?: unknown;
  responseCode?: unknown;
  response?: unknown;
}

/**
 * A DeliveryError for a failed send: an SMTP 5xx reply is permanent (the server will never take
 * this mail, as an HTTP 4xx), a 4xx reply or a lost connection is tried again. Texts are
 * sanitised: a server may quote the login it refused.
 */
function deliveryError(error: unknown, secrets: readonly string[], timeoutMs: number): DeliveryError {
  const failure: SmtpFailure = typeof error === 'object' && error !== null ? error : {};
  const code = typeof failure.responseCode === 'number' ? failure.responseCode : undefined;
  if (code !== undefined) {
    const reply = sanitise(typeof failure.response === 'string' ? failure.response : String(failure.message), secrets);
    return new DeliveryError(`SMTP ${code}: ${reply}`, code, code >= 500, error);
  }
  if (failure.code === 'ETIMEDOUT') return new DeliveryError(`no answer within ${timeoutMs} ms`, undefined, false, error);
  const kind = typeof failure.code === 'string' ? `${failure.code}: ` : '';
  return new DeliveryError(`${kind}${sanitise(String(failure.message ?? error), secrets)}`, undefined, false, error);
}

/** `work`, or the signal's reason as soon as it aborts (nodemailer takes no signal: its own timeouts end the send). */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * An e-mail notifier over SMTP. `secure: true` is TLS from the first byte (port 465); otherwise
 * the connection is upgraded with STARTTLS (port 587), and `requireTls` (the default) refuses to
 * send when the server does not offer it. `ca` is a PEM file to trust besides the system's CAs.
 * Each send opens its own connection, with the notifier timeout on connecting, greeting and every
 * reply. Resolves with the server's final reply code (250).
 */
export function createEmailNotifier(name: string, config: EmailConfig, deps: NotifierDeps): Notifier {
  const ca = config.ca === undefined ? undefined : readCa(name, config.ca);
  const options = {
    host: config.host,
    port: config.port ?? (config.secure ? 465 : 587),
    secure: config.secure,
    requireTLS: !config.secure && config.requireTls,
    auth: config.user ? { user: config.user, pass: config.password } : undefined,
    connectionTimeout: deps.timeoutMs,
    greetingTimeout: deps.timeoutMs,
    socketTimeout: deps.timeoutMs,
    disableFileAccess: true,
    disableUrlAccess: true,
    ...(ca ? { tls: { ca } } : {}),
  };
  // nodemailer is loaded on the first mail, not at start: every command would pay for it otherwise.
  const load = () => import('nodemailer').then((nodemailer) => nodemailer.createTransport(options));
  let transport: ReturnType<typeof load> | undefined;
  // The password, not the login: a login such as "watcher" would cut words out of every reply.
  const secrets = [config.password, ...(deps.secrets ?? [])].filter((s) => s !== '');
  return {
    name,
    type: 'email',
    protocol: 'SMTP',
    send: async (event, signal) => {
      try {
        transport ??= load();
        const info = await abortable(
          transport.then((t) => t.sendMail(buildEmail(event, config))),
          signal,
        );
        return { status: Number.parseInt(info.response, 10) };
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        throw deliveryError(error, secrets, deps.timeoutMs);
      }
    },
  };
}

/** The `ca` file's text; one that cannot be read stops the start with its notifier's name. */
function readCa(name: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`notifiers.${name}.ca: cannot read ${path} (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
}

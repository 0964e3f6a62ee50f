import { afterEach, describe, expect, it } from 'vitest';
import { notifierSchema } from '../../src/config/notifiers.js';
import { createNotifiers } from '../../src/notify/registry.js';
import { DeliveryError } from '../../src/notify/notifier.js';
import { Dispatcher } from '../../src/notify/dispatcher.js';
import { openStore } from '../../src/store/store.js';
import { newEvent, type WatcherEvent } from '../../src/events/event.js';
import { capturedLogger } from '../helpers/capture.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { onDisk, tempDbPath } from '../helpers/on-disk.js';
import { SMTP_CA_FILE, SmtpCapture } from '../helpers/smtp-capture.js';

const EVENT: WatcherEvent = {
  id: 'evt_0123456789abcdef01234567',
  type: 'pod.deployed',
  time: '2026-11-29T10:00:00.000Z',
  dryRun: false,
  summary: 'trainer <b>deployed</b> & running',
  rule: 'trainer',
  pod: { id: 'abc123', name: 'trainer', kind: 'on-demand', costPerHr: 0.79 },
};

const PASSWORD = 'smtpPassw0rdValue';

let server: SmtpCapture | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** An e-mail notifier for the capture server, from `extra` over a STARTTLS default that trusts the test CA. */
function mailer(port: number, extra: Record<string, unknown> = {}) {
  const config = notifierSchema.parse({ type: 'email', host: '127.0.0.1', port, ca: SMTP_CA_FILE, from: 'watcher@example.com', to: ['me@example.com', 'ops@example.com'], ...extra });
  const built = createNotifiers({ mail: config }, { fetch: globalThis.fetch, timeoutMs: 3_000 }).get('mail');
  if (!built) throw new Error('no notifier built');
  return built;
}

describe('email', () => {
  it('upgrades with STARTTLS, logs in, and sends the subject, plain text and HTML', async () => {
    server = await SmtpCapture.start();
    const mail = mailer(server.listenPort, { user: 'watcher', password: PASSWORD });
    expect(mail.protocol).toBe('SMTP');
    expect(await mail.send(EVENT)).toEqual({ status: 250 });
    expect(server.mails).toHaveLength(1);
    const [got] = server.mails;
    expect(got).toMatchObject({ from: 'watcher@example.com', to: ['me@example.com', 'ops@example.com'], secure: true, login: { user: 'watcher', password: PASSWORD } });
    expect(got?.parsed.subject).toBe('[gpu-watcher] info: trainer <b>deployed</b> & running');
    expect(got?.parsed.from?.text).toBe('watcher@example.com');
    expect(got?.parsed.text).toBe(
      ['trainer <b>deployed</b> & running', '', 'Rule: trainer', 'Pod: abc123 (on-demand, $0.79/hr)', '', 'pod.deployed · info · 2026-11-29T10:00:00.000Z · evt_0123456789abcdef01234567', ''].join('\n'),
    );
    expect(got?.parsed.html).toBe(
      [
        '<h3>trainer: pod.deployed</h3>',
        '<p>trainer &lt;b&gt;deployed&lt;/b&gt; &amp; running</p>',
        '<table><tr><th align="left">Rule</th><td>trainer</td></tr><tr><th align="left">Pod</th><td>abc123 (on-demand, $0.79/hr)</td></tr></table>',
        '<p><small>pod.deployed · info · 2026-11-29T10:00:00.000Z · evt_0123456789abcdef01234567</small></p>',
      ].join('\n'),
    );
  });

  it('speaks TLS from the first byte with secure: true', async () => {
    server = await SmtpCapture.start({ secure: true, authOptional: true });
    await mailer(server.listenPort, { secure: true }).send(EVENT);
    expect(server.mails.map((m) => m.secure)).toEqual([true]);
  });

  it('refuses to send in clear when the server offers no STARTTLS (requireTls), and sends when allowed', async () => {
    server = await SmtpCapture.start({ disabledCommands: ['STARTTLS'], authOptional: true });
    const error = await mailer(server.listenPort).send(EVENT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect(server.mails).toHaveLength(0);
    await mailer(server.listenPort, { requireTls: false }).send(EVENT);
    expect(server.mails.map((m) => m.secure)).toEqual([false]);
  });

  it('a 5xx reply is refused for good, a 4xx reply and a refused connection are retried; the password never shows', async () => {
    server = await SmtpCapture.start();
    server.refuse.push(550, 451);
    // One recipient: each RCPT TO takes one scripted reply.
    const mail = mailer(server.listenPort, { user: 'watcher', password: PASSWORD, to: ['me@example.com'] });
    const never = await mail.send(EVENT).catch((e: unknown) => e);
    expect(never).toMatchObject({ status: 550, permanent: true });
    expect((never as Error).message).toMatch(/^SMTP 550: /);
    await expect(mail.send(EVENT)).rejects.toMatchObject({ status: 451, permanent: false, message: expect.stringMatching(/^SMTP 451: /) });
    const port = server.listenPort;
    await server.close();
    server = undefined;
    const refused = await mailer(port, { user: 'watcher', password: PASSWORD }).send(EVENT).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: undefined, permanent: false });
    expect((refused as Error).message).toContain('ECONNREFUSED');
    for (const error of [never, refused]) expect(JSON.stringify({ message: (error as Error).message })).not.toContain(PASSWORD);
  });

  it('goes through the outbox like any notifier: a 451 is retried, then delivered once', async () => {
    server = await SmtpCapture.start({ authOptional: true });
    server.refuse.push(451);
    const store = openStore(tempDbPath());
    const clock = new FakeClock();
    const config = notifierSchema.parse({ type: 'email', host: '127.0.0.1', port: server.listenPort, ca: SMTP_CA_FILE, from: 'w@example.com', to: ['me@example.com'] });
    const notifiers = createNotifiers({ mail: config }, { fetch: globalThis.fetch, timeoutMs: 3_000 });
    const dispatcher = new Dispatcher({ outbox: store.outbox, notifiers, clock, logger: capturedLogger().logger });
    store.outbox.append(newEvent({ type: 'api.down', summary: 'RunPod API down' }, clock.now()), ['mail']);
    await dispatcher.deliverDue();
    expect(clock.sleeps).toEqual([1_000]);
    expect(server.mails).toHaveLength(1);
    expect(onDisk(store.path, (db) => db.prepare('SELECT status, attempts, last_status FROM deliveries').all())).toEqual([{ status: 'delivered', attempts: 1, last_status: 250 }]);
    store.close();
  });
});

import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.js';
import { Capture, capturedLogger } from '../helpers/capture.js';

describe('log redaction', () => {
  it.each([
    ['the API key', { apiKey: 'rpa_SECRET' }],
    ['an auth header', { headers: { authorization: 'Bearer rpa_SECRET' } }],
    ['a nested auth header', { request: { headers: { authorization: 'Bearer rpa_SECRET' } } }],
    ['a webhook secret', { notifier: { secret: 'rpa_SECRET' } }],
    ['an HTTP token', { http: { token: 'rpa_SECRET' } }],
    ['pod env', { rule: { pod: { env: { HF_TOKEN: 'rpa_SECRET' } } } }],
    ['deploy variables', { variables: { input: { env: [{ key: 'A', value: 'rpa_SECRET' }] } } }],
  ])('hides %s', (_what, fields) => {
    const { logger, logs } = capturedLogger();
    logger.info(fields, 'something happened');
    expect(logs.text()).toContain('[redacted]');
    expect(logs.text()).not.toContain('rpa_SECRET');
  });
});

describe('pretty logs', () => {
  it('write one readable line an event, fields as key=value, no JSON, secrets still redacted, colour only when asked', () => {
    const plain = new Capture();
    const logger = createLogger('info', plain, { format: 'pretty' });
    logger.warn({ operation: 'snapshot', attempt: 2, detail: 'two words', apiKey: 'rpa_SECRET' }, 'RunPod call failed; retrying');
    logger.error({ err: new Error('disk full') }, 'cycle failed');
    logger.debug('below the level');
    const lines = plain.text().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: RunPod call failed; retrying operation=snapshot attempt=2 detail="two words" apiKey=\[redacted\]$/);
    expect(lines[1]).toMatch(/ERROR: cycle failed err="disk full"$/);
    for (const line of lines) expect(() => JSON.parse(line)).toThrow();
    expect(plain.text()).not.toContain('\u001b[');
    const coloured = new Capture();
    createLogger('info', coloured, { format: 'pretty', colour: true }).info('hello');
    expect(coloured.text()).toContain('\u001b[');
  });
});

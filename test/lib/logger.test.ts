import { describe, expect, it } from 'vitest';
import { capturedLogger } from '../helpers/capture.js';

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

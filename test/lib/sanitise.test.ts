import { describe, expect, it } from 'vitest';
import { MAX_SANITISED_LENGTH, REDACTED, sanitise } from '../../src/lib/sanitise.js';

describe('sanitise', () => {
  it.each([
    ['a named secret', 'env JUPYTER_PASSWORD=hunter22 rejected', ['hunter22'], `env JUPYTER_PASSWORD=${REDACTED} rejected`],
    ['its URL-encoded form', 'url ?x=p%40ss%2Fword', ['p@ss/word'], `url ?x=${REDACTED}`],
    ['its JSON-escaped form', '{"v":"say \\"hi\\""}', ['say "hi"'], `{"v":"${REDACTED}"}`],
    ['the longer of two nested secrets whole', 'abcd-efgh', ['abcd', 'abcd-efgh'], REDACTED],
    ['a bearer token nobody named', 'sent Authorization: Bearer abc.def-123 back', [], `sent Authorization: ${REDACTED} back`],
    ['a RunPod key shape', 'key rpa_ABCDEFGH12345678 is bad', [], `key ${REDACTED} is bad`],
    ['an api_key query value', 'GET /graphql?api_key=zzzz&x=1', [], `GET /graphql?api_key=${REDACTED}&x=1`],
    ['a long opaque token', `token-ish ${'a1'.repeat(25)} end`, [], `token-ish ${REDACTED} end`],
  ])('cuts out %s', (_name, text, secrets, expected) => {
    expect(sanitise(text, secrets)).toBe(expected);
  });

  it('leaves short secrets alone rather than mangling every text', () => {
    expect(sanitise('pod 1 of 2', ['1'])).toBe('pod 1 of 2');
  });

  it('folds the text onto one line and caps it', () => {
    expect(sanitise('a\n  b\tc')).toBe('a b c');
    const long = sanitise('x '.repeat(1000));
    expect(long.length).toBe(MAX_SANITISED_LENGTH + 1);
    expect(long.endsWith('…')).toBe(true);
  });
});

/**
 * Cleaning of text that came from outside (RunPod's error messages, a receiver's response body)
 * before it is logged, stored, put in an event or served. Such text may echo what we sent: RunPod
 * quotes a mutation's variables (pod env) in some errors, and a misconfigured receiver may reflect
 * a request header or body. Everything the caller knows to be secret is cut out, and so is anything
 * shaped like a credential, whoever sent it.
 */

/** What replaces a secret that was cut out. */
export const REDACTED = '[redacted]';

/** The longest cleaned text kept; longer text is cut and ends with `…`. */
export const MAX_SANITISED_LENGTH = 300;

/** Secrets shorter than this are not searched for: cutting "1" or "ok" out of every text would mangle it. */
const MIN_SECRET_LENGTH = 4;

// Credential shapes cut out even when the caller did not name them: bearer tokens, RunPod keys
// (`rpa_…`), `api_key=` / `token=` / `secret=` / `password=` query or form values, and long
// opaque tokens of the kind API keys and HMAC secrets are made of.
const CREDENTIAL_SHAPES: readonly RegExp[] = [
  /\bBearer\s+[^\s"',;]+/gi,
  /\brpa_[A-Za-z0-9]{8,}/g,
  /\b((?:api[_-]?key|access[_-]?token|token|secret|password|passwd)\s*["']?\s*[:=]\s*["']?)[^\s"'&,;}]+/gi,
  /\b[A-Za-z0-9_-]{40,}\b/g,
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * `text` on one line, capped at `maxLength`, with every value of `secrets` (and its URL-encoded
 * and JSON-escaped forms) and every credential-shaped token replaced by `[redacted]`.
 */
export function sanitise(text: string, secrets: readonly string[] = [], maxLength = MAX_SANITISED_LENGTH): string {
  let clean = text;
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  // Longest first, so a secret that contains another is cut whole.
  for (const form of [...forms].sort((a, b) => b.length - a.length)) {
    clean = clean.replace(new RegExp(escapeRegExp(form), 'g'), REDACTED);
  }
  for (const shape of CREDENTIAL_SHAPES) {
    clean = clean.replace(shape, (_match, prefix: unknown) => (typeof prefix === 'string' ? `${prefix}${REDACTED}` : REDACTED));
  }
  const flat = clean.replace(/\s+/g, ' ').trim();
  return flat.length > maxLength ? `${flat.slice(0, maxLength)}…` : flat;
}

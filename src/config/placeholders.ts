import type { ConfigIssue } from './errors.js';
import type { Config } from './schema.js';

/**
 * What values copied from an example and never filled in look like: `rpa_your_key_here`,
 * `XXXXXXXX`, `<your-token>`, `changeme`, and the hosts RFC 2606 keeps for examples.
 */
const PLACEHOLDERS: readonly RegExp[] = [
  /your[_-][a-z_-]*/i,
  /[a-z]*_here\b/i,
  /x{6,}/i,
  /<[^<>\s]+>/,
  /\b(?:change[_-]?me|replace[_-]?me)\b/i,
  /\bexample\.(?:com|org|net)\b/i,
];

/** The part of `value` that gives it away as a placeholder, or undefined. */
function placeholderIn(value: string): string | undefined {
  for (const pattern of PLACEHOLDERS) {
    const match = pattern.exec(value);
    if (match) return match[0];
  }
  return undefined;
}

/** Every string under `value`, with its path as the error messages write it. */
function strings(value: unknown, path: string): { path: string; text: string }[] {
  if (typeof value === 'string') return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => strings(v, `${path}.${k}`));
  return [];
}

/**
 * Values still holding a placeholder where a real one is needed: the notifiers' settings (URLs,
 * secrets, headers), the rules' pod env, the HTTP token and the API key. A message names the
 * placeholder, never the rest of the value (it may be a secret); for the key, not even that.
 */
export function placeholderIssues(config: Config, apiKey: string | undefined): ConfigIssue[] {
  const values = [
    ...strings(config.notifiers, 'notifiers'),
    ...config.rules.flatMap((rule, i) => strings(rule.pod.env ?? {}, `rules[${i}].pod.env`)),
    ...strings(config.http?.token ?? '', 'http.token'),
  ];
  const issues: ConfigIssue[] = [];
  for (const { path, text } of values) {
    const found = placeholderIn(text);
    if (found) issues.push({ path, message: `"${found}" looks like a placeholder from an example: put the real value in` });
  }
  if (apiKey && placeholderIn(apiKey)) issues.push({ path: 'RUNPOD_API_KEY', message: 'looks like a placeholder from an example, not a RunPod key' });
  return issues;
}

import type { ConfigIssue } from './errors.js';
import { formatPath } from './errors.js';

// `$${` is a literal `${`; `${VAR}` must be set; `${VAR:-default}` falls back when unset or empty.
const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

function expandString(text: string, env: NodeJS.ProcessEnv, path: readonly PropertyKey[], issues: ConfigIssue[]): string {
  return text.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
    if (name === undefined) return '${';
    const value = env[name];
    if (value !== undefined && (value !== '' || fallback === undefined)) return value;
    if (fallback !== undefined) return fallback;
    issues.push({ path: formatPath(path), message: `environment variable ${name} is not set (write \${${name}:-default} to allow that)` });
    return match;
  });
}

/**
 * Expands `${VAR}` references in every string of a parsed YAML tree. Expansion happens after
 * parsing, so a value can never change the file's structure, and each problem has a config path.
 */
export function expandEnv(tree: unknown, env: NodeJS.ProcessEnv): { value: unknown; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const walk = (node: unknown, path: PropertyKey[]): unknown => {
    if (typeof node === 'string') return expandString(node, env, path, issues);
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, [...path, k])]));
    }
    return node;
  };
  return { value: walk(tree, []), issues };
}

/** One problem in a config, at a path such as `rules[0].candidates[1].maxPrice`. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** A config that cannot be used; carries every problem found, each printed as `path: message`. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(readonly issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}

/** `path: message`, or the bare message for a problem with the whole file. */
export function formatIssue(issue: ConfigIssue): string {
  return issue.path ? `${issue.path}: ${issue.message}` : issue.message;
}

/** Formats a path like ['rules', 0, 'pod', 'env', 'A'] as `rules[0].pod.env.A`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

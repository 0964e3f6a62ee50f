/**
 * RunPod's IETF rate-limit fields on its answers (REST v2's, and GraphQL's when it sends them), read. `RateLimit` is a structured-field list with
 * one member per window, each with the requests left `r` and the seconds until it resets `t`
 * (`"minute";r=0;t=12, "hour";r=2800;t=1812`); `RateLimit-Policy` the same windows with their quota
 * `q` and length `w` (`"minute";q=60;w=60, ...`).
 */

/** One window of a rate-limit field: its name and its numeric parameters. */
interface Window {
  name: string;
  params: Record<string, number>;
}

/** Parses a structured-field list of windows; members that do not parse are skipped. */
function windows(header: string | null): Window[] {
  if (!header) return [];
  const parsed: Window[] = [];
  for (const member of header.split(',')) {
    const [head, ...rest] = member.trim().split(';');
    const name = head?.trim().replace(/^"(.*)"$/, '$1');
    if (!name) continue;
    const params: Record<string, number> = {};
    for (const param of rest) {
      const match = /^\s*([a-z]+)\s*=\s*(\d+)\s*$/.exec(param);
      if (match?.[1] !== undefined && match[2] !== undefined) params[match[1]] = Number(match[2]);
    }
    parsed.push({ name, params });
  }
  return parsed;
}

/**
 * The longest wait a `RateLimit` field asks for: a window with no requests left holds every request
 * until it resets (the next one would only be refused with a 429). Undefined when every window has
 * requests left, or the field is absent.
 */
export function exhaustedWindow(header: string | null): { name: string; resetMs: number } | undefined {
  let longest: { name: string; resetMs: number } | undefined;
  for (const { name, params } of windows(header)) {
    if (params.r !== 0 || params.t === undefined) continue;
    const resetMs = params.t * 1000;
    if (!longest || resetMs > longest.resetMs) longest = { name, resetMs };
  }
  return longest;
}

/** `RateLimit-Policy` in words, e.g. `60/minute, 3000/hour`; undefined when absent or unreadable. */
export function describePolicy(header: string | null): string | undefined {
  const parts = windows(header)
    .filter((w) => w.params.q !== undefined)
    .map((w) => `${w.params.q}/${w.name}`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}

/**
 * The tightest quota of a `RateLimit-Policy` field as requests per minute: each window's quota `q`
 * spread over its length `w` (3000/hour is 50/minute), rounded down, at least 1. Undefined when no
 * window has both.
 */
export function perMinuteQuota(header: string | null): number | undefined {
  const rates = windows(header)
    .filter((w) => w.params.q !== undefined && w.params.w !== undefined && w.params.w > 0)
    .map((w) => Math.max(1, Math.floor(((w.params.q ?? 0) * 60) / (w.params.w ?? 60))));
  return rates.length > 0 ? Math.min(...rates) : undefined;
}

import { validate as isValidCron } from 'node-cron';
import { z } from 'zod';
import { formatDuration, parseDuration } from '../lib/duration.js';
import { CLOUDS, DEPLOY_ENV, RULE_ENV } from '../runpod/types.js';
import { splitHostPort } from '../lib/host-port.js';
import { notifierSchema } from './notifiers.js';

// A value written `${VAR}` arrives as a string; numbers and booleans from env are read back here.
const NUMERIC = /^-?\d+(\.\d+)?$/;
const toNumber = (v: unknown): unknown => (typeof v === 'string' && NUMERIC.test(v.trim()) ? Number(v) : v);
const toBoolean = (v: unknown): unknown => (v === 'true' ? true : v === 'false' ? false : v);

const num = <T extends z.ZodType>(schema: T) => z.preprocess(toNumber, schema);
const bool = z.preprocess(toBoolean, z.boolean());

/** The largest value of RunPod's GraphQL `Int` (32-bit signed): counts and pod sizes go there. */
const GRAPHQL_INT_MAX = 2_147_483_647;
/** GPUs in one pod: RunPod's biggest machines hold 8 to 10, so more than 32 is a typo. */
const MAX_GPU_COUNT = 32;
/** Sanity ceiling for a price per GPU per hour; RunPod's dearest GPUs cost a few dollars. */
const MAX_PRICE_PER_GPU = 100;
/** Sanity ceiling for the budget's dollars per hour across every watcher pod. */
const MAX_HOURLY_SPEND = 10_000;
/** The longest a single request may be given. */
const MAX_TIMEOUT_MS = 10 * 60_000;
/** The longest window (retention, retryAfter, repeat). */
const MAX_WINDOW_MS = 365 * 86_400_000;

const wholeNumber = (min: number, max: number) =>
  num(
    z
      .number()
      .int('must be a whole number')
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`),
  );
const count = wholeNumber(1, GRAPHQL_INT_MAX);
const gpuCount = wholeNumber(1, MAX_GPU_COUNT);
/** A price: above 0 and at most `ceiling` dollars; `unit` names what the dollars are per. */
const dollars = (ceiling: number, unit: string) =>
  num(
    z
      .number()
      .positive('must be a price above 0')
      .finite()
      .refine((n) => n <= ceiling, { error: (issue) => `$${String(issue.input)} is above the $${ceiling}${unit} sanity ceiling` }),
  );
const price = dollars(MAX_PRICE_PER_GPU, '/GPU/hr');
const name = z.string().trim().min(1, 'must not be empty').max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" and "-"');
const gpuId = z.string().trim().min(1, 'must be a RunPod gpuTypeId such as "NVIDIA RTX A6000"');
const cloud = z.enum(CLOUDS, { error: `must be one of ${CLOUDS.join(', ')}` });
const stockFloor = z.enum(['Low', 'Medium', 'High'], { error: 'must be Low, Medium or High' });

/** A duration such as `30s`, `5m`, `2h`, `7d`, read as milliseconds: above 0 and at most `maxMs`. */
const durationUpTo = (maxMs: number, what: string) =>
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration like 30s, 5m, 2h or 7d` });
      return z.NEVER;
    }
    if (ms > maxMs) {
      ctx.addIssue({ code: 'custom', message: `${text} is longer than ${formatDuration(maxMs)}, the longest ${what}` });
      return z.NEVER;
    }
    return ms;
  });
const timeout = durationUpTo(MAX_TIMEOUT_MS, 'timeout');
const window = durationUpTo(MAX_WINDOW_MS, 'window');

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const notify = z.array(name).default([]);

const pollSchema = z.strictObject({
  schedule: z.string().default('*/30 * * * * *').refine((s) => isValidCron(s), 'is not a valid cron expression (seconds field allowed, e.g. "*/30 * * * * *")'),
  timeout: timeout.prefault('10s'),
});

/** Why a RunPod URL cannot be used (it holds a key, or a REST URL is not the v2 base); undefined when it can. */
export function runpodUrlProblem(url: string, rest: boolean): string | undefined {
  if (/[?&]api_key=/i.test(url)) return 'must not hold the API key: set RUNPOD_API_KEY, which is sent as a header';
  if (rest && URL.canParse(url) && !/\/v2\/?$/.test(new URL(url).pathname)) return 'must be the REST v2 base, ending in /v2 (e.g. https://api.runpod.io/v2)';
  return undefined;
}

const runpodUrl = (fallback: string, rest: boolean) =>
  httpUrl.default(fallback).superRefine((url, ctx) => {
    const problem = runpodUrlProblem(url, rest);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const apiSchema = z.strictObject({
  /** auto: GraphQL while it answers, REST v2 for good once GraphQL is retired; or one of them for good. */
  source: z.enum(['auto', 'graphql', 'rest']).default('auto'),
  url: runpodUrl('https://api.runpod.io/graphql', false),
  restUrl: runpodUrl('https://api.runpod.io/v2', true),
});

const storeSchema = z.strictObject({
  path: z.string().min(1).default('data/gpu-watcher.db'),
  retention: window.prefault('90d'),
});

const listen = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d+$/, 'must be HOST:PORT, e.g. 127.0.0.1:9464')
  .refine((text) => isPort(Number(text.slice(text.lastIndexOf(':') + 1))), 'must have a port from 1 to 65535');
const isPort = (port: number): boolean => Number.isInteger(port) && port >= 1 && port <= 65_535;

/**
 * Why `text` cannot be `http.listen`, or undefined when it can. `run --http` may also name port 0,
 * any free port (the log line says which it got).
 */
export function listenProblem(text: string, options: { anyPort: boolean }): string | undefined {
  if (options.anyPort && /:0$/.test(text)) return listenProblem(`${text.slice(0, -2)}:1`, { anyPort: false });
  const result = listen.safeParse(text);
  return result.success ? undefined : result.error.issues[0]?.message;
}
/** An `http.allowedHosts` entry: a host name or address, optionally `:port`. */
const allowedHost = z.string().refine((text) => {
  const entry = splitHostPort(text);
  return entry !== undefined && (entry.port === undefined || isPort(entry.port));
}, 'must be a host name or address, optionally with :PORT (1 to 65535), e.g. watcher.internal or 10.0.0.5:9464');
const httpSchema = z.strictObject({
  listen: listen.default('127.0.0.1:9464'),
  token: z.string().default(''),
  allowedHosts: z.array(allowedHost).default([]),
});

const watchSchema = z.strictObject({ gpu: gpuId, gpuCount: gpuCount.default(1), cloud: cloud.default('ALL') });

const alertSchema = z.strictObject({
  name,
  gpu: gpuId,
  gpuCount: gpuCount.default(1),
  cloud: cloud.default('ALL'),
  when: z
    .strictObject({ stockAtLeast: stockFloor.optional(), maxPrice: price.optional(), maxBid: price.optional() })
    .refine((w) => w.stockAtLeast !== undefined || w.maxPrice !== undefined || w.maxBid !== undefined, 'needs at least one of stockAtLeast, maxPrice, maxBid'),
  for: count.default(1),
  repeat: window.optional(),
  resolved: bool.default(true),
  notify,
});

const candidateSchema = z
  .strictObject({ gpu: gpuId, maxPrice: price.optional(), bid: price.optional() })
  .refine((c) => c.maxPrice !== undefined || c.bid !== undefined, 'needs maxPrice, bid, or both');

const envValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const podSchema = z
  .strictObject({
    name: z.string().min(1).optional(),
    imageName: z.string().min(1).optional(),
    templateId: z.string().min(1).optional(),
    dockerArgs: z.string().optional(),
    containerDiskInGb: wholeNumber(1, GRAPHQL_INT_MAX).optional(),
    volumeInGb: wholeNumber(0, GRAPHQL_INT_MAX).optional(),
    volumeMountPath: z.string().optional(),
    ports: z.string().optional(),
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'is not a valid env variable name'), envValue)
      .refine((env) => !(RULE_ENV in env) && !(DEPLOY_ENV in env), `${RULE_ENV} and ${DEPLOY_ENV} are set by the watcher`)
      .optional(),
    minVcpuCount: wholeNumber(1, GRAPHQL_INT_MAX).optional(),
    minMemoryInGb: wholeNumber(1, GRAPHQL_INT_MAX).optional(),
    // Unquoted YAML 12.1 is a number; RunPod wants strings.
    allowedCudaVersions: z.array(z.union([z.string(), z.number()]).transform(String)).optional(),
    networkVolumeId: z.string().min(1).optional(),
    dataCenterId: z.string().min(1).optional(),
    startSsh: bool.optional(),
    supportPublicIp: bool.optional(),
  })
  .refine((p) => p.imageName !== undefined || p.templateId !== undefined, 'needs imageName or templateId');

const ruleSchema = z
  .strictObject({
    name,
    gpuCount: gpuCount.default(1),
    cloud: cloud.default('ALL'),
    minStock: stockFloor.default('Medium'),
    spot: z.enum(['prefer', 'only', 'never'], { error: 'must be prefer, only or never' }).default('prefer'),
    maxPods: count.default(1),
    maxDeploys: count.optional(),
    retryAfter: window.prefault('5m'),
    candidates: z.array(candidateSchema).min(1, 'needs at least one candidate'),
    pod: podSchema,
    notify,
  })
  .superRefine((rule, ctx) => {
    rule.candidates.forEach((c, i) => {
      if (rule.spot === 'only' && c.bid === undefined) {
        ctx.addIssue({ code: 'custom', path: ['candidates', i, 'bid'], message: 'is required when spot is "only"' });
      }
      if (rule.spot === 'never' && c.maxPrice === undefined) {
        ctx.addIssue({ code: 'custom', path: ['candidates', i, 'maxPrice'], message: 'is required when spot is "never"' });
      }
    });
  });

const resumeSchema = z.strictObject({
  name,
  podId: z.string().trim().min(1),
  gpuCount: gpuCount.default(1),
  bid: price.optional(),
  notify,
});

const budgetSchema = z
  .strictObject({ maxPods: count.optional(), maxHourlySpend: dollars(MAX_HOURLY_SPEND, '/hr').optional() })
  .refine((b) => b.maxPods !== undefined || b.maxHourlySpend !== undefined, 'needs maxPods, maxHourlySpend, or both');

/** The whole config file; every default is applied here. */
export const configSchema = z.strictObject({
  poll: pollSchema.prefault({}),
  api: apiSchema.prefault({}),
  store: storeSchema.prefault({}),
  http: httpSchema.optional(),
  watch: z.array(watchSchema).default([]),
  notifiers: z.record(name, notifierSchema).default({}),
  alerts: z.array(alertSchema).default([]),
  rules: z.array(ruleSchema).default([]),
  resume: z.array(resumeSchema).default([]),
  budget: budgetSchema.optional(),
});

export type Config = z.output<typeof configSchema>;
export type RuleConfig = Config['rules'][number];
export type AlertConfig = Config['alerts'][number];
export type ResumeConfig = Config['resume'][number];

import { validate as isValidCron } from 'node-cron';
import { z } from 'zod';
import { formatDuration, parseDuration } from '../lib/duration.js';
import { schedulePeriodMs } from '../lib/cron-period.js';
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

/** The longest `poll.idle`: an idle daemon still notices a freed budget or a new alert within it. */
const MAX_IDLE_MS = 3_600_000;
/** The most `api.maxRequestsPerMinute` may be: ten times RunPod's documented example of 60. */
const MAX_REQUESTS_PER_MINUTE = 600;
/**
 * Requests one cycle may send besides deploys, as budgeted: GraphQL sends one (the pod list rides in
 * the snapshot), but REST v2 sends the pod list beside one catalog call per GPU count and cloud.
 */
const REQUESTS_PER_CYCLE = 2;
/** The share of the request cap hungry polling may use; the rest is kept for deploys, resumes, stops and the CLI. */
const HUNGRY_SHARE = 0.8;

const pollSchema = z.strictObject({
  schedule: z.string().default('*/30 * * * * *').refine((s) => isValidCron(s), 'is not a valid cron expression (seconds field allowed, e.g. "*/30 * * * * *")'),
  timeout: timeout.prefault('10s'),
  /** The interval while a rule waits for stock (none of its candidates deployable); unset: the schedule. */
  hungry: durationUpTo(MAX_IDLE_MS, 'hungry interval').optional(),
  /** The interval while no rule can act and no alert is under way; unset: the schedule. */
  idle: durationUpTo(MAX_IDLE_MS, 'idle interval').optional(),
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
  /** Every call to RunPod in this process together, reads and mutations, in any 60 s. */
  maxRequestsPerMinute: wholeNumber(1, MAX_REQUESTS_PER_MINUTE).default(30),
});

const storeSchema = z.strictObject({
  path: z.string().min(1).default('data/gpu-watcher.db'),
  retention: window.prefault('90d'),
});

/** `HOST:PORT` to listen on (`http.listen`, and GPU_WATCHER_HTTP, which wins over it). */
export const listen = z
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

/** A CUDA version as RunPod names them ("12.8"); unquoted YAML 12.8 is a number and is read as one. */
const cudaVersion = z.string().regex(/^\d+\.\d+$/, 'must be a CUDA version such as "12.8"');
/** A data center id such as "EU-RO-1": it becomes part of a history key, so no separators. */
const filterWord = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be a data center id such as "EU-RO-1"');

/**
 * The machine filters, under RunPod's deploy names: a rule's pod takes them (with the rest of the
 * pod), an alert's `machine` names them alone. Either way the stock watched is that of the
 * machines passing them.
 */
const machineFields = {
  minVcpuCount: wholeNumber(1, GRAPHQL_INT_MAX).optional(),
  minMemoryInGb: wholeNumber(1, GRAPHQL_INT_MAX).optional(),
  allowedCudaVersions: z.array(z.union([z.string(), z.number().transform((n) => (Number.isInteger(n) ? n.toFixed(1) : String(n)))]).pipe(cudaVersion)).optional(),
  dataCenterId: filterWord.optional(),
  countryCode: z.string().regex(/^[A-Z]{2}$/, 'must be a two-letter country code such as "RO"').optional(),
  minDisk: wholeNumber(1, GRAPHQL_INT_MAX).optional(),
  supportPublicIp: bool.optional(),
};

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
  machine: z.strictObject(machineFields).optional(),
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
    ...machineFields,
    networkVolumeId: z.string().min(1).optional(),
    startSsh: bool.optional(),
  })
  .refine((p) => p.imageName !== undefined || p.templateId !== undefined, 'needs imageName or templateId');

const podEnd = z.enum(['stop', 'terminate'], { error: 'must be stop or terminate' });

/** When a rule's pod idles: GPUs below `gpuUtilBelow` percent for `for`, then `action`. */
const idleSchema = z.strictObject({
  gpuUtilBelow: num(z.number().min(1, 'must be at least 1').max(100, 'must be at most 100')).default(5),
  for: window.prefault('30m'),
  action: podEnd.default('stop'),
});

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
    startTimeout: window.prefault('10m'),
    ttl: window.optional(),
    onExpiry: podEnd.default('stop'),
    warnBefore: window.prefault('10m'),
    idle: idleSchema.optional(),
    afterEnd: z.enum(['rest', 'replace'], { error: 'must be rest or replace' }).default('rest'),
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

/** Dollars the watcher's pods may cost per UTC day and per UTC month; rules rest once either is reached. */
const maxSpendSchema = z
  .strictObject({ day: dollars(MAX_HOURLY_SPEND * 24, '/day').optional(), month: dollars(MAX_HOURLY_SPEND * 24 * 31, '/month').optional() })
  .refine((m) => m.day !== undefined || m.month !== undefined, 'needs day, month, or both');

const budgetSchema = z
  .strictObject({ maxPods: count.optional(), maxHourlySpend: dollars(MAX_HOURLY_SPEND, '/hr').optional(), maxSpend: maxSpendSchema.optional() })
  .refine((b) => b.maxPods !== undefined || b.maxHourlySpend !== undefined || b.maxSpend !== undefined, 'needs maxPods, maxHourlySpend, maxSpend, or some of them');

/**
 * `poll.hungry` and `poll.idle` against the schedule and the request cap: hungry must poll faster
 * than the schedule and, at two requests a cycle, use at most 80% of `api.maxRequestsPerMinute`;
 * idle must poll slower than the schedule.
 */
function checkPacing(config: { poll: { schedule: string; hungry?: number | undefined; idle?: number | undefined }; api: { maxRequestsPerMinute: number } }, ctx: z.RefinementCtx): void {
  const { schedule, hungry, idle } = config.poll;
  if (!isValidCron(schedule)) return;
  const base = schedulePeriodMs(schedule);
  const cap = config.api.maxRequestsPerMinute;
  if (hungry !== undefined) {
    const fastest = Math.ceil((REQUESTS_PER_CYCLE * 60_000) / (HUNGRY_SHARE * cap) / 1000) * 1000;
    if (hungry >= base) ctx.addIssue({ code: 'custom', path: ['poll', 'hungry'], message: `${formatDuration(hungry)} is not shorter than the schedule's period (${formatDuration(base)}); hungry polling must be faster` });
    else if (hungry < fastest) {
      ctx.addIssue({
        code: 'custom',
        path: ['poll', 'hungry'],
        message: `${formatDuration(hungry)} would use more than ${HUNGRY_SHARE * 100}% of api.maxRequestsPerMinute (${cap}) at ${REQUESTS_PER_CYCLE} requests a cycle, leaving too little for deploys: use ${formatDuration(fastest)} or more, or raise the cap`,
      });
    }
  }
  if (idle !== undefined && idle <= base) ctx.addIssue({ code: 'custom', path: ['poll', 'idle'], message: `${formatDuration(idle)} is not longer than the schedule's period (${formatDuration(base)}); idle polling must be slower` });
}

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
}).superRefine(checkPacing);

export type Config = z.output<typeof configSchema>;
export type RuleConfig = Config['rules'][number];
export type AlertConfig = Config['alerts'][number];
export type ResumeConfig = Config['resume'][number];

import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../lib/duration.js';

/** The CUDA versions an offer's machines run, each with whether one is free and, optionally, its own stock word. */
const cudaVersionsSchema = z.array(z.strictObject({ version: z.string().regex(/^\d+\.\d+$/), available: z.boolean(), stock: z.string().nullable().optional() }));
const dataCentersSchema = z.array(z.strictObject({ id: z.string().min(1), name: z.string().optional(), stock: z.string().nullable() }));

/**
 * What an offer's machines have, against which the machine filters (`minVcpuCount`, `minMemoryInGb`,
 * `minDisk`, `supportPublicIp`) are checked; a filter asking more finds no stock. Absent: 8 vCPUs
 * and 62 GB per GPU, 500 GB of disk, a public IP on Secure Cloud only.
 */
const machineSchema = z.strictObject({
  vcpuPerGpu: z.number().int().positive().optional(),
  memoryPerGpuInGb: z.number().int().positive().optional(),
  diskInGb: z.number().int().positive().optional(),
  publicIp: z.boolean().optional(),
});

/**
 * One cloud's offer for a GPU type: stock word (RunPod's, any string or null), prices, counts, the
 * fleet figures GraphQL tells (GPUs rented of the total; REST v2 has none); its data centers (each
 * with a stock word) and the CUDA versions its machines run (each possibly with its own stock
 * word), and what its machines have. Both GraphQL's `lowestPrice` filters and v2's catalog filters
 * read them (docs/simulator.md). Absent, v2 shows one data center with the offer's stock, GraphQL
 * spreads it over the data centers, and CUDA 12.4 and 12.8 have the offer's stock.
 */
const simOfferSchema = z.strictObject({
  stock: z.string().nullable().default('High'),
  price: z.number().nullable().default(null),
  minBid: z.number().nullable().default(null),
  counts: z.array(z.number().int()).nullable().default(null),
  /** GraphQL's fleet figures: GPUs rented and GPUs in the fleet (`rentedCount`, `totalCount`); null: not told. */
  rented: z.number().int().nonnegative().nullable().default(null),
  total: z.number().int().nonnegative().nullable().default(null),
  dataCenters: dataCentersSchema.optional(),
  cudaVersions: cudaVersionsSchema.optional(),
  machine: machineSchema.optional(),
});

const durationMs = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration like 10s or 2m` });
    return z.NEVER;
  }
  return ms;
});

/**
 * How pods of a GPU type start and work: up `startIn` after each start (default at once), or never
 * (`failure: never`: stuck, as an image that cannot be pulled), or failing (`failure: error`: REST v2
 * shows ERROR after `startIn`); once up, their GPUs at `gpuUtil` percent (default 0) for `busyFor`
 * (default for good), then idle.
 */
const podLifeSchema = z.strictObject({
  startIn: z.union([durationMs, z.number().nonnegative()]).default(0),
  failure: z.enum(['never', 'error']).optional(),
  gpuUtil: z.number().min(0).max(100).default(0),
  busyFor: z.union([durationMs, z.number().positive()]).optional(),
});

const simGpuSchema = z.strictObject({
  id: z.string().min(1),
  displayName: z.string().optional(),
  memoryInGb: z.number().int().optional(),
  secure: simOfferSchema.optional(),
  community: simOfferSchema.optional(),
  pods: podLifeSchema.optional(),
});

/** A change to one offer: only the given fields change. */
const offerChangeSchema = z.strictObject({
  gpu: z.string().min(1),
  cloud: z.enum(['SECURE', 'COMMUNITY']),
  stock: z.string().nullable().optional(),
  price: z.number().nullable().optional(),
  minBid: z.number().nullable().optional(),
  counts: z.array(z.number().int()).nullable().optional(),
  rented: z.number().int().nonnegative().nullable().optional(),
  total: z.number().int().nonnegative().nullable().optional(),
  /** The per-data-center stock, replaced whole (so a step can script each data center's level). */
  dataCenters: dataCentersSchema.optional(),
  /** The per-CUDA-version stock, replaced whole. */
  cudaVersions: cudaVersionsSchema.optional(),
});

const rootField = z.string().min(1).optional();

/**
 * A scripted misbehaviour, used by the next matching request(s). `op` names a GraphQL root field or
 * a REST v2 operation id (`listGpuTypes`, `listPods`, `getPod`, `createPod`, `podAction`); absent,
 * any request. `graphqlError` and `nulls` are for GraphQL requests only, `rest` for v2 ones only;
 * the others serve both (a `status` fault answers v2 with problem JSON, its message as the detail).
 */
export const faultSchema = z.discriminatedUnion('kind', [
  // `message` is the GraphQL error text in the body (default: the status's reason phrase).
  z.strictObject({
    kind: z.literal('status'),
    status: z.number().int().min(400).max(599),
    retryAfter: z.number().nonnegative().optional(),
    message: z.string().min(1).optional(),
    op: rootField,
    times: z.number().int().positive().default(1),
  }),
  z.strictObject({ kind: z.literal('delay'), ms: z.number().int().nonnegative(), op: rootField, times: z.number().int().positive().default(1) }),
  z.strictObject({ kind: z.literal('reset'), op: rootField, times: z.number().int().positive().default(1) }),
  z.strictObject({ kind: z.literal('malformed'), op: rootField, times: z.number().int().positive().default(1) }),
  z.strictObject({ kind: z.literal('nulls'), op: rootField, times: z.number().int().positive().default(1) }),
  // Holds a request until `release()`: `before` it is processed (RunPod has not seen it yet), or
  // `after` (RunPod acted, the answer is lost in transit). For crash tests.
  z.strictObject({ kind: z.literal('hold'), at: z.enum(['before', 'after']), op: rootField, times: z.number().int().positive().default(1) }),
  // A GraphQL error at HTTP 200: on the whole `request` (data null), or on the `first` or `each`
  // root field by the key it answers under (its alias), with every root field null; or (`op`) on
  // the root fields named `op` alone, null, while the others answer as usual (a pod list failing
  // beside a snapshot). `echoInput` appends the request's `$input` as JSON, as some RunPod errors
  // quote what was sent.
  z.strictObject({
    kind: z.literal('graphqlError'),
    message: z.string().min(1),
    code: z.string().optional(),
    scope: z.enum(['request', 'first', 'each', 'op']).default('first'),
    echoInput: z.boolean().default(false),
    op: rootField,
    times: z.number().int().positive().default(1),
  }),
  // A REST v2 problem answer (RFC 9457: title, status, detail, errors[]), as RunPod sends them.
  z.strictObject({
    kind: z.literal('rest'),
    status: z.number().int().min(400).max(599),
    title: z.string().min(1).optional(),
    detail: z.string().min(1).optional(),
    errors: z.array(z.string()).optional(),
    retryAfter: z.number().nonnegative().optional(),
    op: rootField,
    times: z.number().int().positive().default(1),
  }),
  // Any body at any status, as a proxy, a CDN or a broken RunPod might send it (HTML, `[]`, `{"data":null}`).
  z.strictObject({
    kind: z.literal('raw'),
    status: z.number().int().min(200).max(599).default(200),
    contentType: z.string().min(1).default('application/json'),
    body: z.string(),
    op: rootField,
    times: z.number().int().positive().default(1),
  }),
]);

/**
 * How a simulator that has retired spot answers a request for a spot field or mutation:
 * - validation: HTTP 400 GRAPHQL_VALIDATION_FAILED, the schema no longer has it;
 * - errors: HTTP 200, `errors[]` naming the field, no code, no path, no data;
 * - field: HTTP 200, a per-field error (the field null, its path under the alias);
 * - null: HTTP 200, the `lowestPrice` above the field null, with an error naming the field.
 */
export const SPOT_RETIREMENTS = ['validation', 'errors', 'field', 'null'] as const;
export type SpotRetirementShape = (typeof SPOT_RETIREMENTS)[number];

export type SimOffer = z.infer<typeof simOfferSchema>;
export type SimGpu = z.infer<typeof simGpuSchema>;
export type OfferChange = z.infer<typeof offerChangeSchema>;
export type Fault = z.infer<typeof faultSchema>;
/** A fault as written in code, with `times` optional. */
export type FaultInput = z.input<typeof faultSchema>;

/** A scripted market: the GPU types at the start, then steps of changes and faults. */
export const scenarioSchema = z.strictObject({
  gpus: z.array(simGpuSchema).default([]),
  /** The account's network volumes: a pod mounting one is made in its data center. */
  networkVolumes: z.array(z.strictObject({ id: z.string().min(1), name: z.string().optional(), size: z.number().int().positive().default(50), dataCenterId: z.string().min(1) })).default([]),
  /** When set, the account and mutations need this key (`Authorization: Bearer <apiKey>` or `?api_key=`); absent, any key does. */
  apiKey: z.string().min(1).optional(),
  /** Serve spot as retired: `true` is `validation` (the schema without RunPod's spot fields and mutations). */
  spotRetired: z.union([z.boolean(), z.enum(SPOT_RETIREMENTS)]).default(false),
  /**
   * REST v2's rate limit: requests allowed per window (`minute`, `hour`, `day`), told in the
   * `RateLimit` headers and enforced with 429 + `Retry-After`. RunPod's example is 60, 3000, 50000;
   * the default is generous, so that tests and scripts never meet it by accident.
   */
  restRateLimit: z
    .strictObject({ minute: z.number().int().positive().optional(), hour: z.number().int().positive().optional(), day: z.number().int().positive().optional() })
    .default({ minute: 1_000 }),
  /**
   * One rate limit over every request, GraphQL and REST v2 alike (it replaces `restRateLimit`):
   * requests allowed per minute, in fixed minute windows on the simulator's clock, told in
   * `RateLimit` and `RateLimit-Policy` headers on every answer and refused past it with HTTP 429 and
   * `Retry-After`, as RunPod's v2 does. Absent: GraphQL has no limit.
   */
  rateLimit: z.strictObject({ perMinute: z.number().int().positive() }).optional(),
  /** Take the next step this often (a duration, or milliseconds); absent, steps are taken by hand. */
  stepEvery: z.union([durationMs, z.number().positive()]).optional(),
  /** After the last step, start again from the first. */
  loop: z.boolean().default(false),
  steps: z
    .array(
      z.strictObject({
        note: z.string().optional(),
        set: z.array(offerChangeSchema).default([]),
        faults: z.array(faultSchema).default([]),
        /** `graphql`: RunPod switches GraphQL off; from this step on every GraphQL request answers HTTP 410 Gone, for good (a loop does not bring it back). */
        retire: z.literal('graphql').optional(),
      }),
    )
    .default([]),
});

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;

/** Reads a scenario from a JSON or YAML file; throws one line per problem. */
export async function loadScenario(path: string): Promise<Scenario> {
  const text = await readFile(path, 'utf8');
  const result = scenarioSchema.safeParse(YAML.parse(text));
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${path}: ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(lines.join('\n'));
  }
  return result.data;
}

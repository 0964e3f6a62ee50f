import { z } from 'zod';
import type { Logger } from '../../lib/logger.js';
import { RunpodError } from '../errors.js';
import { parsePodList } from '../pod-list.js';
import { DEPLOY_ENV, RULE_ENV, type Cloud, type Pod, type PodLifetime, type PodRuntime, type PodSpec } from '../types.js';
import type { GraphqlErrorEntry } from './errors.js';
import type { GraphqlRequest } from './snapshot-query.js';

// `env` is read only to find the watcher's markers; the rest of it is dropped at parse time.
// `runtime` rides every pod read, so following a pod until ready and sampling its GPUs costs no request of its own.
const POD_FIELDS =
  'id name desiredStatus lastStatusChange costPerHr gpuCount imageName podType env machine { gpuTypeId gpuDisplayName secureCloud } ' +
  'runtime { uptimeInSeconds ports { ip isIpPublic privatePort publicPort type } gpus { id gpuUtilPercent } }';

/** The account's pods as a root field, for a pod list alone or beside a snapshot's aliases. */
export const PODS_FIELD = `myself { pods { ${POD_FIELDS} } }`;

export const LIST_PODS = `query Pods { ${PODS_FIELD} }`;
/** The account's network volumes, each with the data center it lives in. */
export const NETWORK_VOLUMES = 'query NetworkVolumes { myself { networkVolumes { id dataCenterId } } }';
export const GET_POD = `query Pod($input: PodFilter) { pod(input: $input) { ${POD_FIELDS} } }`;

/** The mutations the client sends, by root field; each takes `$input` and returns a pod. */
const POD_MUTATIONS = {
  podFindAndDeployOnDemand: 'PodFindAndDeployOnDemandInput',
  podRentInterruptable: 'PodRentInterruptableInput',
  podResume: 'PodResumeInput',
  podBidResume: 'PodBidResumeInput',
  podStop: 'PodStopInput',
} as const;

/** `podTerminate` answers a bare string, not a pod. */
export const TERMINATE_POD = 'mutation PodTerminate($input: PodTerminateInput) { podTerminate(input: $input) }';

export type PodMutation = keyof typeof POD_MUTATIONS;

/**
 * A pod mutation document with its input. The pod env values the user configured are the request's
 * secrets: RunPod may quote them back in an error. The watcher's own markers are not secret.
 */
export function buildPodMutation(field: PodMutation, input: Record<string, unknown>): GraphqlRequest {
  const name = field.charAt(0).toUpperCase() + field.slice(1);
  const env = Array.isArray(input.env) ? (input.env as { key: string; value: string }[]) : [];
  return {
    document: `mutation ${name}($input: ${POD_MUTATIONS[field]}!) { ${field}(input: $input) { ${POD_FIELDS} } }`,
    variables: { input },
    secrets: env.filter((e) => e.key !== RULE_ENV && e.key !== DEPLOY_ENV).map((e) => e.value),
  };
}

/** The deploy input both deploy mutations share, from a rule's pod spec and the pod's end, if any. */
export function deployInput(spec: PodSpec, gpuTypeId: string, gpuCount: number, cloud: Cloud, lifetime?: PodLifetime): Record<string, unknown> {
  const { env, ...rest } = spec;
  const input: Record<string, unknown> = { ...rest, gpuTypeId, gpuCount, cloudType: cloud };
  if (lifetime) input[lifetime.action === 'stop' ? 'stopAfter' : 'terminateAfter'] = new Date(lifetime.at).toISOString();
  if (env) input.env = Object.entries(env).map(([key, value]) => ({ key, value }));
  for (const [k, v] of Object.entries(input)) if (v === undefined) delete input[k];
  return input;
}

function markers(env: readonly (string | null)[] | null | undefined): Pod['watcher'] {
  let rule: string | undefined;
  let deployId: string | undefined;
  for (const line of env ?? []) {
    if (line?.startsWith(`${RULE_ENV}=`)) rule = line.slice(RULE_ENV.length + 1);
    if (line?.startsWith(`${DEPLOY_ENV}=`)) deployId = line.slice(DEPLOY_ENV.length + 1);
  }
  return rule !== undefined && deployId !== undefined ? { rule, deployId } : null;
}

/**
 * The time in RunPod's `lastStatusChange` ("Exited by User: Fri Nov 29 2026 10:00:00 GMT+0000 ..."):
 * the text after the first ": ", when it reads as a date; nothing otherwise (the text is free-form).
 */
function statusTime(text: string | null | undefined): Pick<Pod, 'statusChangedAt'> {
  const at = text ? Date.parse(text.slice(text.indexOf(': ') + 2)) : Number.NaN;
  return text?.includes(': ') && Number.isFinite(at) ? { statusChangedAt: at } : {};
}

const runtimeSchema = z.object({
  uptimeInSeconds: z.number().int().nonnegative().nullish(),
  ports: z
    .array(
      z.object({ ip: z.string().nullish(), isIpPublic: z.boolean().nullish(), privatePort: z.number().int(), publicPort: z.number().int().nullish(), type: z.string().nullish() }).nullable(),
    )
    .nullish(),
  gpus: z.array(z.object({ gpuUtilPercent: z.number().nullish() }).nullable()).nullish(),
});

/** RunPod's runtime block, read into ours (entries RunPod left null are dropped). */
function runtimeOf(raw: z.infer<typeof runtimeSchema> | null | undefined): PodRuntime | null {
  if (!raw) return null;
  return {
    uptimeSeconds: raw.uptimeInSeconds ?? 0,
    ports: (raw.ports ?? []).flatMap((p) =>
      p ? [{ ip: p.ip ?? null, isIpPublic: p.isIpPublic ?? false, privatePort: p.privatePort, publicPort: p.publicPort ?? null, type: p.type ?? 'http' }] : [],
    ),
    gpuUtilPercent: (raw.gpus ?? []).flatMap((g) => (typeof g?.gpuUtilPercent === 'number' ? [g.gpuUtilPercent] : [])),
  };
}

/** RunPod's pod, read into ours; pod env is reduced to the watcher's markers here. */
export const podSchema = z
  .object({
    id: z.string().min(1),
    name: z.string(),
    desiredStatus: z.enum(['CREATED', 'RUNNING', 'RESTARTING', 'EXITED', 'PAUSED', 'DEAD', 'TERMINATED']),
    costPerHr: z.number().finite().nonnegative(),
    gpuCount: z.number().int().nonnegative(),
    imageName: z.string().nullish(),
    lastStatusChange: z.string().nullish(),
    podType: z.string().nullish(),
    env: z.array(z.string().nullable()).nullish(),
    machine: z.object({ gpuTypeId: z.string().nullish(), gpuDisplayName: z.string().nullish(), secureCloud: z.boolean().nullish() }).nullish(),
    runtime: runtimeSchema.nullish(),
  })
  .transform(
    (p): Pod => ({
      id: p.id,
      name: p.name,
      desiredStatus: p.desiredStatus,
      costPerHr: p.costPerHr,
      gpuCount: p.gpuCount,
      gpuTypeId: p.machine?.gpuTypeId ?? null,
      gpuDisplayName: p.machine?.gpuDisplayName ?? null,
      imageName: p.imageName ?? null,
      cloud: p.machine?.secureCloud === true ? 'SECURE' : p.machine?.secureCloud === false ? 'COMMUNITY' : null,
      kind: p.podType === 'INTERRUPTABLE' || p.podType === 'BID' ? 'spot' : 'on-demand',
      watcher: markers(p.env),
      ...statusTime(p.lastStatusChange),
      runtime: runtimeOf(p.runtime),
    }),
  );

/** Whether an error entry belongs to the pod list of a combined request (its path starts at `myself`). */
export function underMyself(entry: GraphqlErrorEntry): boolean {
  return Array.isArray(entry.path) && entry.path[0] === 'myself';
}

/**
 * The pods under `myself`, or the RunpodError a missing account means. Without a key RunPod answers
 * no account (myself null, HTTP 200): the key is missing. With one, a refused key comes as HTTP
 * 401/403 or an error naming it; a null account with no such word is a broken answer, not a verdict
 * on the key.
 */
export function readAccountPods(myself: unknown, keyed: boolean, logger: Logger | undefined): Pod[] {
  const account = myself as { pods?: unknown } | null | undefined;
  if (!account && !keyed) {
    throw new RunpodError({ kind: 'auth', operation: 'listPods', status: 200, message: 'no API key: RunPod shows no account without one', mayHaveReachedRunpod: true });
  }
  if (!account) {
    throw new RunpodError({ kind: 'transient', operation: 'listPods', status: 200, message: 'malformed answer: no account (myself is null) and no error', mayHaveReachedRunpod: true });
  }
  return parsePodList(Array.isArray(account.pods) ? account.pods : [], podSchema, logger);
}

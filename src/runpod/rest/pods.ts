import { z } from 'zod';
import { DEPLOY_ENV, RULE_ENV, type OnDemandDeploy, type Pod, type PodSpec } from '../types.js';
import type { SingleCloud } from './catalog.js';
import type { components } from './v2-schema.js';

// REST v2's pods, read into ours, and our deploys written as v2's create body.

type CreatePodBody = components['schemas']['CreatePodRequest'];

/** The path a pod volume is mounted at when the spec names none (GraphQL's default too). */
const DEFAULT_MOUNT_PATH = '/workspace';

/**
 * Pod spec fields v2 has no place for, with what to do instead. A deploy naming one is refused
 * before it is sent: silently dropping it would rent a machine the user did not ask for.
 */
const NOT_IN_V2: Partial<Record<keyof PodSpec, string>> = {
  minVcpuCount: 'v2 cannot ask for a minimum of vCPUs',
  minMemoryInGb: 'v2 cannot ask for a minimum of memory',
  supportPublicIp: 'v2 cannot ask for a public IP (expose the ports instead)',
  countryCode: 'v2 cannot ask for a country (name a dataCenterId instead)',
  minDisk: 'v2 cannot ask for a minimum of host disk',
};

/** The watcher's markers in a v2 env map, or null when the pod does not carry both. */
function markers(env: Record<string, string> | null | undefined): Pod['watcher'] {
  const rule = env?.[RULE_ENV];
  const deployId = env?.[DEPLOY_ENV];
  return rule !== undefined && deployId !== undefined ? { rule, deployId } : null;
}

/** v2's `Pod`, read into ours; the env map is reduced to the watcher's markers here and never kept. */
export const podSchema = z
  .object({
    id: z.string().min(1),
    name: z.string(),
    status: z.enum(['PROVISIONING', 'STARTING', 'RUNNING', 'EXITED', 'ERROR', 'TERMINATED']),
    cost: z.number().finite().nonnegative(),
    image: z.string().nullish(),
    gpu: z.object({ id: z.string().nullish(), count: z.number().int().nonnegative().nullish() }).nullish(),
    cloud: z.enum(['SECURE', 'COMMUNITY']).nullish(),
    env: z.record(z.string(), z.string()).nullish(),
    runtime: z
      .object({
        uptime: z.number().nonnegative().nullish(),
        gpus: z.array(z.object({ util: z.number().nullish() })).nullish(),
        ports: z.array(z.object({ private: z.number().int().nullish(), public: z.number().int().nullish(), type: z.string().nullish(), ip: z.string().nullish() })).nullish(),
      })
      .nullish(),
  })
  .transform(
    (p): Pod => ({
      id: p.id,
      name: p.name,
      desiredStatus: p.status,
      costPerHr: p.cost,
      // A CPU pod has no `gpu`.
      gpuCount: p.gpu?.count ?? (p.gpu ? 1 : 0),
      gpuTypeId: p.gpu?.id ?? null,
      // v2 names a pod's GPU only by its id.
      gpuDisplayName: null,
      imageName: p.image ?? null,
      cloud: p.cloud ?? null,
      kind: 'on-demand',
      watcher: markers(p.env),
      runtime: p.runtime
        ? {
            uptimeSeconds: Math.floor(p.runtime.uptime ?? 0),
            // v2 gives no isIpPublic: a port with a public mapping and an address is reachable from outside.
            ports: (p.runtime.ports ?? []).flatMap((port) =>
              typeof port.private === 'number'
                ? [{ ip: port.ip ?? null, isIpPublic: port.ip != null && port.public != null, privatePort: port.private, publicPort: port.public ?? null, type: port.type ?? 'http' }]
                : [],
            ),
            gpuUtilPercent: (p.runtime.gpus ?? []).flatMap((g) => (typeof g.util === 'number' ? [g.util] : [])),
          }
        : null,
    }),
  );

/** `{ pods: [...] }` with each pod left raw, so one malformed pod is dropped alone. */
export const podListSchema = z.object({ pods: z.array(z.unknown()) });

/**
 * v2's create body for an on-demand deploy on `cloud`, or the reason v2 cannot make it. Always
 * carries `gpu.count` (without it RunPod refuses every create with a misleading capacity text),
 * the env as a map (with the watcher's markers), and at most one CUDA constraint
 * (`allowedCudaVersions`: the spec has no floor to clash with it). `deployCost` has no v2
 * equivalent and is not sent.
 */
export function createBody(request: OnDemandDeploy, cloud: SingleCloud): { body: CreatePodBody } | { refused: string } {
  const { spec } = request;
  for (const [field, why] of Object.entries(NOT_IN_V2)) {
    if (spec[field as keyof PodSpec] !== undefined) return { refused: `pod.${field} cannot be sent to RunPod REST v2: ${why}` };
  }
  const hasVolume = spec.volumeInGb !== undefined && spec.volumeInGb > 0;
  if (hasVolume && spec.networkVolumeId !== undefined) {
    return { refused: 'pod.volumeInGb and pod.networkVolumeId cannot be sent to RunPod REST v2 together: a pod has a pod volume or a network volume' };
  }
  const path = spec.volumeMountPath ?? DEFAULT_MOUNT_PATH;
  const body: CreatePodBody = {
    name: spec.name ?? request.gpuTypeId,
    cloud,
    gpu: { id: request.gpuTypeId, count: request.gpuCount, ...(spec.allowedCudaVersions?.length ? { allowedCudaVersions: spec.allowedCudaVersions } : {}) },
    ...(spec.imageName !== undefined ? { image: spec.imageName } : {}),
    ...(spec.templateId !== undefined ? { templateId: spec.templateId } : {}),
    ...(spec.dockerArgs !== undefined ? { args: spec.dockerArgs } : {}),
    ...(spec.containerDiskInGb !== undefined ? { disk: spec.containerDiskInGb } : {}),
    ...(spec.ports !== undefined ? { ports: splitPorts(spec.ports) } : {}),
    ...(spec.env !== undefined ? { env: { ...spec.env } } : {}),
    ...(spec.dataCenterId !== undefined ? { dataCenterIds: [spec.dataCenterId] } : {}),
    ...(spec.startSsh !== undefined ? { startSsh: spec.startSsh } : {}),
    ...(hasVolume ? { mounts: { persistent: { size: spec.volumeInGb ?? 0, path } } } : {}),
    ...(spec.networkVolumeId !== undefined ? { mounts: { network: [{ volumeId: spec.networkVolumeId, path }] } } : {}),
  };
  return { body };
}

/** GraphQL's `"8888/http,22/tcp"` as v2's list. */
function splitPorts(ports: string): string[] {
  return ports
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/** The pod env values the user configured: RunPod may quote them back, so they are secrets. The markers are not. */
export function envSecrets(spec: PodSpec): string[] {
  return Object.entries(spec.env ?? {})
    .filter(([key]) => key !== RULE_ENV && key !== DEPLOY_ENV)
    .map(([, value]) => value);
}

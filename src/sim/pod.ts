import { randomBytes } from 'node:crypto';

// A pod of the simulated account, and what a deploy request makes of one.

export type SimCloud = 'SECURE' | 'COMMUNITY';
export type PodStatus = 'CREATED' | 'RUNNING' | 'RESTARTING' | 'EXITED' | 'PAUSED' | 'DEAD' | 'TERMINATED';

/** A pod the simulated account holds. */
export interface SimPod {
  id: string;
  name: string;
  desiredStatus: PodStatus;
  imageName: string | null;
  costPerHr: number;
  gpuCount: number;
  gpuTypeId: string;
  cloud: SimCloud;
  podType: 'RESERVED' | 'INTERRUPTABLE';
  /** `KEY=value` strings, as RunPod returns them. */
  env: string[];
  /** Where a Secure Cloud pod runs; null on Community Cloud (filtered by country, not data center). */
  dataCenterId: string | null;
  /** What the deploy asked for that RunPod shows on the pod. */
  spec: SimPodSpec;
  /** Epoch ms: created, last started (null: never), last changed status. */
  createdAt: number;
  startedAt: number | null;
  statusChangedAt: number;
  /** Dollars billed for the billed stretches already ended (see bill.ts); undefined: none yet. */
  billed?: number;
  /** Epoch ms at which the container is up since its last start; null while it never comes up (see `life`). */
  readyAt: number | null;
  /** Epoch ms from which REST v2 shows the pod as ERROR (a container that failed for good); null: it does not fail. */
  failsAt: number | null;
  /** How busy its GPUs are (percent), and until when (epoch ms; null: for good); idle (0) after. */
  gpuUtil: number;
  busyUntil: number | null;
  /** Epoch ms at which RunPod stops or terminates the pod by itself (the deploy's `stopAfter` / `terminateAfter`). */
  stopAfter: number | null;
  terminateAfter: number | null;
}

/** How a GPU type's pods start and work: see the scenario's `pods` (scenario.ts). */
export interface PodLife {
  /** Milliseconds from a start until the container is up. */
  startIn: number;
  /** `never`: the container never comes up; `error`: it fails after `startIn` (REST v2 shows ERROR). */
  failure?: 'never' | 'error' | undefined;
  /** GPU utilisation once up, percent. */
  gpuUtil: number;
  /** Milliseconds the GPUs stay at `gpuUtil` once up, then 0 (the job is done); absent, for good. */
  busyFor?: number | undefined;
}

/** A pod with no scripted life: up at once, its GPUs idle. */
export const DEFAULT_POD_LIFE: PodLife = { startIn: 0, gpuUtil: 0 };

/** The deploy's settings RunPod echoes on the pod. */
export interface SimPodSpec {
  ports?: string;
  port?: string;
  dockerArgs?: string;
  templateId?: string;
  volumeMountPath?: string;
  networkVolumeId?: string;
  containerDiskInGb?: number;
  volumeInGb?: number;
}

/** A pod put into the account directly: what is not given defaults as a fresh deploy would have it. */
export type PodSeed = Omit<SimPod, 'id' | 'dataCenterId' | 'spec' | 'createdAt' | 'startedAt' | 'statusChangedAt' | LifeFields> & Partial<SimPod>;

type LifeFields = 'readyAt' | 'failsAt' | 'gpuUtil' | 'busyUntil' | 'stopAfter' | 'terminateAfter';

/** A pod's life fields for a start at `now`, from its GPU type's life. */
export function lifeFrom(life: PodLife, now: number): Pick<SimPod, 'readyAt' | 'failsAt' | 'gpuUtil' | 'busyUntil'> {
  const up = now + life.startIn;
  return {
    readyAt: life.failure === undefined ? up : null,
    failsAt: life.failure === 'error' ? up : null,
    gpuUtil: life.gpuUtil,
    busyUntil: life.busyFor === undefined ? null : up + life.busyFor,
  };
}

/** A DateTime input (ISO text) as epoch ms, or null when absent or unreadable. */
export function dateInput(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

/** The machine a simulated pod gets per GPU: vCPUs and GB of memory. */
export const VCPUS_PER_GPU = 8;
export const MEMORY_GB_PER_GPU = 62;

type Input = Record<string, unknown>;

const TEXT_SPEC = ['ports', 'dockerArgs', 'templateId', 'volumeMountPath', 'networkVolumeId'] as const;
const NUMBER_SPEC = ['containerDiskInGb', 'volumeInGb'] as const;

/** The pod spec from a deploy input, keeping only fields of the right type (`port` is RunPod's Port scalar: a number or a string). */
export function specOf(input: Input): SimPodSpec {
  const spec: SimPodSpec = {};
  for (const key of TEXT_SPEC) if (typeof input[key] === 'string') spec[key] = input[key];
  for (const key of NUMBER_SPEC) if (typeof input[key] === 'number') spec[key] = input[key];
  if (typeof input.port === 'string' || typeof input.port === 'number') spec.port = String(input.port);
  return spec;
}

/** A pod id in RunPod's style: 14 lower-case letters and digits. */
export function newPodId(): string {
  return randomBytes(10).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, 'x').slice(0, 14);
}

/**
 * A running pod's container at `now`, as RunPod reports it: `starting` until it is up, `error` once
 * it failed for good (REST v2's ERROR), `up` with its uptime and its GPUs' utilisation.
 */
export function containerAt(pod: SimPod, now: number): { state: 'starting' | 'error' } | { state: 'up'; uptimeSeconds: number; gpuUtil: number } {
  if (pod.failsAt !== null && now >= pod.failsAt) return { state: 'error' };
  if (pod.readyAt === null || now < pod.readyAt) return { state: 'starting' };
  const busy = pod.busyUntil === null || now < pod.busyUntil;
  return { state: 'up', uptimeSeconds: Math.floor((now - pod.readyAt) / 1000), gpuUtil: busy ? pod.gpuUtil : 0 };
}

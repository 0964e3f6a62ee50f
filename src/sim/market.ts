import { GraphQLError } from 'graphql';
import { systemClock, type Clock } from '../lib/clock.js';
import { billOf, settleBill } from './bill.js';
import { homeDataCenter } from './data-centers.js';
import { filteredStock, filtersOf, type SimFilters } from './filters.js';
import { DEFAULT_POD_LIFE, MEMORY_GB_PER_GPU, VCPUS_PER_GPU, dateInput, lifeFrom, newPodId, specOf, type PodLife, type PodSeed, type PodStatus, type SimCloud, type SimPod } from './pod.js';
import type { OfferChange, Scenario, SimGpu, SimOffer } from './scenario.js';

/** RunPod's own refusal texts, as seen on the wire. */
export const REFUSALS = {
  capacity: 'There are no longer any instances available with the requested specifications. Please refresh and try again.',
  spotCapacity: 'There are no instances available with the request specifications. Please try again later.',
  hostFull: 'There are not enough free GPUs on the host machine to start this pod.',
  // REST v1 and newer GraphQL texts for the same refusal, sometimes behind a prefix such as "create pod: ".
  noneCurrently: 'create pod: There are no instances currently available',
  machineFull: 'This machine does not have the resources to deploy your pod',
  spotAsOnDemand: 'Cannot resume a spot pod as an on demand pod.',
} as const;

type Input = Record<string, unknown>;

function refuse(message: string, code?: string): GraphQLError {
  return new GraphQLError(message, code ? { extensions: { code } } : {});
}

function hasStock(offer: SimOffer): boolean {
  const word = (offer.stock ?? '').trim().toLowerCase();
  return word !== '' && word !== 'none';
}

/**
 * A GPU type's offers on the clouds `cloudType` allows, each with its stock on the machines passing
 * `filters` (`filteredStock`). A `dataCenterId` keeps only Secure Cloud (none at all in an unknown
 * or unlisted data center).
 */
function offersFor(gpu: SimGpu, cloudType: unknown, filters: SimFilters = {}, gpuCount = 1): [SimCloud, SimOffer][] {
  const all: [SimCloud, SimOffer | undefined][] = [['SECURE', gpu.secure], ['COMMUNITY', gpu.community]];
  const offers = all.filter((entry): entry is [SimCloud, SimOffer] => entry[1] !== undefined && (cloudType === undefined || cloudType === null || cloudType === 'ALL' || cloudType === entry[0]));
  return offers.flatMap(([cloud, offer]): [SimCloud, SimOffer][] => {
    const stock = filteredStock(gpu, cloud, offer, filters, gpuCount);
    return stock === undefined ? [] : [[cloud, { ...offer, stock }]];
  });
}

/** The scripted market and account behind the simulator: GPU offers, pods, and the steps to come. */
export class Market {
  readonly gpus = new Map<string, SimGpu>();
  readonly pods = new Map<string, SimPod>();
  /**
   * Per GPU type, how many times its list price a new on-demand pod costs (1.5: half as much
   * again), whatever ceiling the deploy named. REST v2 takes no ceiling, so RunPod may make a pod
   * dearer than the offer the watcher read; tests script that here. Empty: every pod at list price.
   */
  readonly createMarkup = new Map<string, number>();
  private stepIndex = 0;

  constructor(
    private readonly scenario: Scenario,
    /** Pod times (created, uptime) are read from it. */
    readonly clock: Clock = systemClock,
  ) {
    for (const gpu of scenario.gpus) this.gpus.set(gpu.id, structuredClone(gpu));
  }

  /** Changes one offer; only the given fields change. A missing offer is created. */
  set(change: OfferChange): void {
    const gpu = this.gpus.get(change.gpu) ?? { id: change.gpu };
    this.gpus.set(change.gpu, gpu);
    const side = change.cloud === 'SECURE' ? 'secure' : 'community';
    const offer: SimOffer = gpu[side] ?? { stock: 'None', price: null, minBid: null, counts: null, rented: null, total: null };
    if (change.stock !== undefined) offer.stock = change.stock;
    if (change.rented !== undefined) offer.rented = change.rented;
    if (change.total !== undefined) offer.total = change.total;
    if (change.price !== undefined) offer.price = change.price;
    if (change.minBid !== undefined) offer.minBid = change.minBid;
    if (change.counts !== undefined) offer.counts = change.counts;
    if (change.dataCenters !== undefined) offer.dataCenters = change.dataCenters;
    if (change.cudaVersions !== undefined) offer.cudaVersions = change.cudaVersions;
    gpu[side] = offer;
  }

  /** Applies the next scripted step and returns it, or undefined when the script has ended. */
  advance(): Scenario['steps'][number] | undefined {
    const steps = this.scenario.steps;
    if (this.stepIndex >= steps.length) {
      if (!this.scenario.loop || steps.length === 0) return undefined;
      this.stepIndex = 0;
    }
    const step = steps[this.stepIndex++];
    for (const change of step?.set ?? []) this.set(change);
    return step;
  }

  /**
   * `lowestPrice` for a GPU type: the cheapest matching offer, across clouds when none is named,
   * with its stock on the machines passing the input's filters (data center, country, CUDA
   * versions, vCPUs, memory, disk, public IP: see `filteredStock`).
   */
  lowestPrice(gpu: SimGpu, input: Input | null | undefined): Record<string, unknown> | null {
    const secure = input?.secureCloud;
    const gpuCount = typeof input?.gpuCount === 'number' ? input.gpuCount : 1;
    const offers = offersFor(gpu, secure === true ? 'SECURE' : secure === false ? 'COMMUNITY' : 'ALL', filtersOf(input), gpuCount);
    if (offers.length === 0) return null;
    const stocked = offers.filter(([, o]) => hasStock(o));
    const pool = stocked.length > 0 ? stocked : offers;
    const [cloud, best] = pool.reduce((a, b) => ((b[1].price ?? Infinity) < (a[1].price ?? Infinity) ? b : a));
    return {
      gpuName: gpu.displayName ?? gpu.id,
      gpuTypeId: gpu.id,
      stockStatus: best.stock,
      uninterruptablePrice: best.price,
      minimumBidPrice: best.minBid,
      availableGpuCounts: best.counts,
      rentedCount: best.rented,
      totalCount: best.total,
      // The simulator's reading of RunPod's undocumented scale: a percentage, to the hundredth.
      rentalPercentage: best.rented !== null && best.total ? Math.round((best.rented / best.total) * 10_000) / 100 : null,
      maxUnreservedGpuCount: best.counts ? Math.max(0, ...best.counts) : null,
      maxGpuCount: best.counts ? Math.max(0, ...best.counts) : null,
      minVcpu: VCPUS_PER_GPU * gpuCount,
      minMemory: MEMORY_GB_PER_GPU * gpuCount,
      supportPublicIp: cloud === 'SECURE',
      countryCode: null,
      compliance: [],
    };
  }

  /**
   * Each GPU type's Secure Cloud stock in one data center (none in an unknown or unlisted one);
   * `available` also needs `gpuCount` among the deployable counts when one is asked for.
   */
  dataCenterStock(dataCenterId: string, gpuCount?: number): { gpu: SimGpu; stock: string | null; available: boolean }[] {
    return [...this.gpus.values()].flatMap((gpu) => {
      const [entry] = offersFor(gpu, 'SECURE', { dataCenterId });
      if (!entry) return [];
      const offer = entry[1];
      const countOk = gpuCount === undefined || offer.counts === null || offer.counts.includes(gpuCount);
      return [{ gpu, stock: offer.stock, available: hasStock(offer) && countOk }];
    });
  }

  /** The account's network volumes. */
  get networkVolumes(): Scenario['networkVolumes'] {
    return this.scenario.networkVolumes;
  }

  /** The data center of one of the account's network volumes. */
  volumeDataCenter(volumeId: string): string | undefined {
    return this.networkVolumes.find((v) => v.id === volumeId)?.dataCenterId;
  }

  /** A deploy input's machine filters; its network volume puts it in the volume's data center. */
  private deployFilters(input: Input): SimFilters {
    return filtersOf(input, (id) => this.volumeDataCenter(id));
  }

  /** `podFindAndDeployOnDemand`: the cheapest offer stocked on the machines it asks for, within `deployCost`, or RunPod's refusal. */
  deployOnDemand(input: Input): SimPod {
    requireImage(input);
    const gpuCount = Number(input.gpuCount ?? 1);
    const gpu = this.gpus.get(String(input.gpuTypeId));
    // RunPod answers an unknown GPU type with the same capacity refusal.
    if (!gpu) throw refuse(REFUSALS.capacity, 'SUPPLY_CONSTRAINT');
    const ceiling = typeof input.deployCost === 'number' ? input.deployCost : Infinity;
    const choice = offersFor(gpu, input.cloudType, this.deployFilters(input), gpuCount)
      .filter(([, o]) => hasStock(o) && o.price !== null && o.price * gpuCount <= ceiling && (o.counts === null || o.counts.includes(gpuCount)))
      .sort((a, b) => (a[1].price ?? 0) - (b[1].price ?? 0))[0];
    if (!choice) throw refuse(REFUSALS.capacity, 'SUPPLY_CONSTRAINT');
    return this.addPod(input, gpu, choice[0], 'RESERVED', (choice[1].price ?? 0) * gpuCount * (this.createMarkup.get(gpu.id) ?? 1));
  }

  /** `podRentInterruptable`: a spot pod when some stocked offer's minimum bid is at most `bidPerGpu`. */
  deploySpot(input: Input): SimPod {
    requireImage(input);
    const gpuCount = Number(input.gpuCount ?? 1);
    const bid = Number(input.bidPerGpu);
    const gpu = this.gpus.get(String(input.gpuTypeId));
    if (!gpu || !Number.isFinite(bid)) throw refuse(REFUSALS.spotCapacity);
    const choice = offersFor(gpu, input.cloudType, this.deployFilters(input), gpuCount).find(
      ([, o]) => hasStock(o) && o.minBid !== null && o.minBid <= bid && (o.counts === null || o.counts.includes(gpuCount)),
    );
    if (!choice) throw refuse(REFUSALS.spotCapacity);
    return this.addPod(input, gpu, choice[0], 'INTERRUPTABLE', bid * gpuCount);
  }

  /** `podResume`: an on-demand pod comes back when its GPU type has stock on its cloud. */
  resume(input: Input): SimPod {
    const pod = this.stoppedPod(input.podId);
    if (pod.podType === 'INTERRUPTABLE') throw refuse(REFUSALS.spotAsOnDemand);
    const offer = this.offerOf(pod);
    if (!offer || !hasStock(offer) || offer.price === null) throw refuse(REFUSALS.hostFull);
    if (typeof input.gpuCount === 'number') pod.gpuCount = input.gpuCount;
    pod.costPerHr = offer.price * pod.gpuCount;
    this.setStatus(pod, 'RUNNING');
    return pod;
  }

  /** `podBidResume`: a spot pod comes back when its bid covers the minimum bid. */
  bidResume(input: Input): SimPod {
    const pod = this.stoppedPod(input.podId);
    const offer = this.offerOf(pod);
    const bid = Number(input.bidPerGpu);
    if (!offer || !hasStock(offer) || offer.minBid === null || offer.minBid > bid) throw refuse(REFUSALS.hostFull);
    pod.gpuCount = Number(input.gpuCount);
    pod.costPerHr = bid * pod.gpuCount;
    this.setStatus(pod, 'RUNNING');
    return pod;
  }

  /** Scripts how pods of a GPU type start and work from their next start on (the scenario's `pods`). */
  setPodLife(gpuId: string, life: Partial<PodLife>): void {
    const gpu = this.gpus.get(gpuId);
    if (!gpu) throw new Error(`no GPU type ${gpuId} in the market`);
    gpu.pods = { ...DEFAULT_POD_LIFE, ...gpu.pods, ...life };
  }

  /** Applies the ends RunPod enforces itself: a pod past its `stopAfter` is stopped, past its `terminateAfter` terminated. */
  settle(): void {
    const now = this.clock.now();
    for (const pod of this.pods.values()) {
      if (pod.terminateAfter !== null && now >= pod.terminateAfter && pod.desiredStatus !== 'TERMINATED') this.setStatus(pod, 'TERMINATED', pod.terminateAfter);
      if (pod.stopAfter !== null && now >= pod.stopAfter && pod.desiredStatus === 'RUNNING') this.setStatus(pod, 'EXITED', pod.stopAfter);
    }
  }

  stop(input: Input): SimPod {
    const pod = this.podById(input.podId);
    this.setStatus(pod, 'EXITED');
    return pod;
  }

  terminate(input: Input): string {
    this.setStatus(this.podById(input.podId), 'TERMINATED');
    return 'ok';
  }

  /** Dollars a pod has been billed so far (costPerHr over its time in a billed state), on the simulator's clock. */
  bill(podId: string): number {
    const pod = this.pods.get(podId);
    if (!pod) throw new Error(`the simulator has no pod ${podId}`);
    return billOf(pod, this.clock.now());
  }

  /** Pods RunPod still lists (terminated ones are gone). */
  livePods(): SimPod[] {
    this.settle();
    return [...this.pods.values()].filter((p) => p.desiredStatus !== 'TERMINATED');
  }

  /** Puts a pod in the account directly, e.g. a stopped pod for a resume test. */
  addExistingPod(seed: PodSeed): SimPod {
    const now = this.clock.now();
    const gpu = this.gpus.get(seed.gpuTypeId);
    const full: SimPod = {
      dataCenterId: seed.cloud === 'SECURE' && gpu ? homeDataCenter(gpu).id : null,
      spec: {},
      createdAt: now,
      startedAt: seed.desiredStatus === 'RUNNING' ? now : null,
      statusChangedAt: now,
      ...lifeFrom(gpu?.pods ?? DEFAULT_POD_LIFE, now),
      stopAfter: null,
      terminateAfter: null,
      ...seed,
      id: seed.id ?? newPodId(),
    };
    this.pods.set(full.id, full);
    return full;
  }

  private addPod(input: Input, gpu: SimGpu, cloud: SimCloud, podType: SimPod['podType'], costPerHr: number): SimPod {
    const env = Array.isArray(input.env) ? (input.env as { key: string; value: string }[]).map((e) => `${e.key}=${e.value}`) : [];
    const { dataCenterId } = this.deployFilters(input);
    return this.addExistingPod({
      name: typeof input.name === 'string' ? input.name : gpu.id,
      desiredStatus: 'RUNNING',
      imageName: typeof input.imageName === 'string' ? input.imageName : null,
      costPerHr: Math.round(costPerHr * 1e6) / 1e6,
      gpuCount: Number(input.gpuCount ?? 1),
      gpuTypeId: gpu.id,
      cloud,
      podType,
      env,
      ...(cloud === 'SECURE' && dataCenterId !== undefined ? { dataCenterId } : {}),
      spec: specOf(input),
      stopAfter: dateInput(input.stopAfter),
      terminateAfter: dateInput(input.terminateAfter),
    });
  }

  private setStatus(pod: SimPod, status: PodStatus, at = this.clock.now()): void {
    settleBill(pod, at);
    if (status === 'RUNNING') {
      pod.startedAt = at;
      Object.assign(pod, lifeFrom(this.gpus.get(pod.gpuTypeId)?.pods ?? DEFAULT_POD_LIFE, at));
    }
    pod.desiredStatus = status;
    pod.statusChangedAt = at;
  }

  /** A pod RunPod still lists, by id, after applying the ends it enforces; undefined when there is none. */
  listedPod(id: unknown): SimPod | undefined {
    this.settle();
    const pod = typeof id === 'string' ? this.pods.get(id) : undefined;
    return pod && pod.desiredStatus !== 'TERMINATED' ? pod : undefined;
  }

  private podById(id: unknown): SimPod {
    this.settle();
    const pod = typeof id === 'string' ? this.pods.get(id) : undefined;
    if (!pod || pod.desiredStatus === 'TERMINATED') throw refuse('Pod not found');
    return pod;
  }

  private stoppedPod(id: unknown): SimPod {
    const pod = this.podById(id);
    if (pod.desiredStatus !== 'EXITED') throw refuse(`Pod ${pod.id} is not stopped`);
    return pod;
  }

  private offerOf(pod: SimPod): SimOffer | undefined {
    const gpu = this.gpus.get(pod.gpuTypeId);
    return pod.cloud === 'SECURE' ? gpu?.secure : gpu?.community;
  }
}

function requireImage(input: Input): void {
  if (typeof input.imageName !== 'string' && typeof input.templateId !== 'string') {
    throw refuse('imageName or templateId is required', 'BAD_USER_INPUT');
  }
}

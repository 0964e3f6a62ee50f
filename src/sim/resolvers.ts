import { GraphQLError, Kind, type GraphQLResolveInfo } from 'graphql';
import { DATA_CENTERS } from './data-centers.js';
import type { Market } from './market.js';
import type { SimPod } from './pod.js';
import type { SpotRetirementShape } from './scenario.js';
import { gpuTypeView, podView } from './views.js';

/** The error a resolver raises for a spot field or mutation once spot is retired. */
function spotGone(field: string): GraphQLError {
  return new GraphQLError(`${field} is no longer available: spot pods are retired`);
}

/** Whether the query selects `field` below the field being resolved. */
function selects(info: GraphQLResolveInfo, field: string): boolean {
  return info.fieldNodes.some((node) => node.selectionSet?.selections.some((s) => s.kind === Kind.FIELD && s.name.value === field));
}

type Args = { input?: Record<string, unknown> | null };

/** The data centers, each with its GPU stock (`gpuAvailability`), Secure Cloud only. */
function dataCenters(market: Market): Record<string, unknown>[] {
  return DATA_CENTERS.map((dc) => ({
    id: dc.id,
    name: dc.name,
    location: dc.location,
    listed: dc.listed,
    storageSupport: dc.listed,
    globalNetwork: false,
    compliance: [],
    gpuAvailability: ({ input }: Args) => {
      if (input?.secureCloud === false) return [];
      const gpuCount = typeof input?.gpuCount === 'number' ? input.gpuCount : undefined;
      return market.dataCenterStock(dc.id, gpuCount).map(({ gpu, stock, available }) => {
        const displayName = gpu.displayName ?? gpu.id;
        return { id: gpu.id, gpuTypeId: gpu.id, displayName, gpuTypeDisplayName: displayName, stockStatus: stock, available };
      });
    },
  }));
}

/**
 * The root resolvers over the market: RunPod's queries and pod mutations, with spot retired in the
 * shapes that show at execution (`field`: an error at the field, `null`: at its parent). Without a
 * key (`signedIn` false) the account's fields answer null, as RunPod's do.
 */
export function rootResolvers(market: Market, spotRetired: SpotRetirementShape | false, signedIn: boolean): Record<string, (args: Args) => unknown> {
  const view = (pod: SimPod) => podView(pod, market);
  // The shapes of a retirement that happen at execution: an error at the field, or at its parent.
  const retired = spotRetired === 'field' || spotRetired === 'null';
  const lowestPrice = (gpu: Parameters<Market['lowestPrice']>[0], args: Args, info: GraphQLResolveInfo): unknown => {
    if (spotRetired === 'null' && selects(info, 'minimumBidPrice')) throw spotGone('minimumBidPrice');
    const answer = market.lowestPrice(gpu, args.input);
    if (spotRetired !== 'field' || answer === null) return answer;
    return { ...answer, minimumBidPrice: () => { throw spotGone('minimumBidPrice'); } };
  };
  const spotOnly = <T>(field: string, act: () => T): T => {
    if (retired) throw spotGone(field);
    return act();
  };
  return {
    gpuTypes: ({ input }) => {
      const ids = input?.ids as string[] | undefined;
      const id = input?.id as string | undefined;
      return [...market.gpus.values()]
        .filter((g) => (id === undefined || g.id === id) && (ids === undefined || ids.includes(g.id)))
        .map((g) => ({
          ...gpuTypeView(g, spotRetired === false),
          lowestPrice: (args: Args, _context: unknown, info: GraphQLResolveInfo) => lowestPrice(g, args, info),
        }));
    },
    dataCenters: () => dataCenters(market),
    countryCodes: () => [...new Set(DATA_CENTERS.map((dc) => dc.countryCode))].sort(),
    myself: () => {
      if (!signedIn) return null;
      const pods = market.livePods();
      const spend = pods.filter((p) => p.desiredStatus === 'RUNNING').reduce((sum, p) => sum + p.costPerHr, 0);
      const account = { clientBalance: 100, currentSpendPerHr: Math.round(spend * 1e6) / 1e6, spendLimit: 80, underBalance: false, minBalance: 0 };
      const networkVolumes = market.networkVolumes.map((v) => ({ id: v.id, name: v.name ?? v.id, size: v.size, dataCenterId: v.dataCenterId }));
      return { id: 'sim-user', email: 'sim@example.invalid', ...account, pods: pods.map(view), networkVolumes };
    },
    pod: ({ input }) => {
      const pod = signedIn ? market.listedPod(input?.podId) : undefined;
      return pod ? view(pod) : null;
    },
    podFindAndDeployOnDemand: ({ input }) => view(market.deployOnDemand(input ?? {})),
    podRentInterruptable: ({ input }) => spotOnly('podRentInterruptable', () => view(market.deploySpot(input ?? {}))),
    podResume: ({ input }) => view(market.resume(input ?? {})),
    podBidResume: ({ input }) => spotOnly('podBidResume', () => view(market.bidResume(input ?? {}))),
    podStop: ({ input }) => view(market.stop(input ?? {})),
    podTerminate: ({ input }) => market.terminate(input ?? {}),
  };
}

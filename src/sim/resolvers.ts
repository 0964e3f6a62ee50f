import { GraphQLError, Kind, type GraphQLResolveInfo } from 'graphql';
import type { Market, SimPod } from './market.js';
import type { SpotRetirementShape } from './scenario.js';

/** A pod as RunPod's schema answers it: the market's pod with the machine fields filled in. */
function podView(pod: SimPod, market: Market): Record<string, unknown> {
  const gpu = market.gpus.get(pod.gpuTypeId);
  return {
    ...pod,
    vcpuCount: 8 * pod.gpuCount,
    memoryInGb: 62 * pod.gpuCount,
    machineId: `m-${pod.id}`,
    machine: { podHostId: `${pod.id}-1`, gpuTypeId: pod.gpuTypeId, gpuDisplayName: gpu?.displayName ?? pod.gpuTypeId, secureCloud: pod.cloud === 'SECURE' },
  };
}

/** The error a resolver raises for a spot field or mutation once spot is retired. */
function spotGone(field: string): GraphQLError {
  return new GraphQLError(`${field} is no longer available: spot pods are retired`);
}

/** Whether the query selects `field` below the field being resolved. */
function selects(info: GraphQLResolveInfo, field: string): boolean {
  return info.fieldNodes.some((node) => node.selectionSet?.selections.some((s) => s.kind === Kind.FIELD && s.name.value === field));
}

/**
 * The root resolvers over the market: RunPod's queries and pod mutations, with spot retired in the
 * shapes that show at execution (`field`: an error at the field, `null`: at its parent).
 */
export function rootResolvers(market: Market, spotRetired: SpotRetirementShape | false): Record<string, (args: { input?: Record<string, unknown> }) => unknown> {
  const view = (pod: SimPod) => podView(pod, market);
  // The shapes of a retirement that happen at execution: an error at the field, or at its parent.
  const retired = spotRetired === 'field' || spotRetired === 'null';
  const lowestPrice = (gpu: Parameters<Market['lowestPrice']>[0], args: { input?: Record<string, unknown> }, info: GraphQLResolveInfo): unknown => {
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
          id: g.id,
          displayName: g.displayName ?? g.id,
          memoryInGb: g.memoryInGb ?? null,
          secureCloud: g.secure !== undefined,
          communityCloud: g.community !== undefined,
          securePrice: g.secure?.price ?? null,
          communityPrice: g.community?.price ?? null,
          lowestPrice: (args: { input?: Record<string, unknown> }, _context: unknown, info: GraphQLResolveInfo) => lowestPrice(g, args, info),
        }));
    },
    myself: () => ({ id: 'sim-user', email: 'sim@example.invalid', pods: market.livePods().map(view) }),
    pod: ({ input }) => {
      const pod = market.pods.get(String(input?.podId));
      return pod && pod.desiredStatus !== 'TERMINATED' ? view(pod) : null;
    },
    podFindAndDeployOnDemand: ({ input }) => view(market.deployOnDemand(input ?? {})),
    podRentInterruptable: ({ input }) => spotOnly('podRentInterruptable', () => view(market.deploySpot(input ?? {}))),
    podResume: ({ input }) => view(market.resume(input ?? {})),
    podBidResume: ({ input }) => spotOnly('podBidResume', () => view(market.bidResume(input ?? {}))),
    podStop: ({ input }) => view(market.stop(input ?? {})),
    podTerminate: ({ input }) => market.terminate(input ?? {}),
  };
}

import type { z } from 'zod';
import type { Logger } from '../lib/logger.js';
import { RunpodError } from './errors.js';
import type { Pod, PodsAnswer } from './types.js';

/**
 * The pods of a pod list that `schema` reads; a malformed one is dropped with a warning rather than
 * failing the list, so one odd pod does not blind the rules to the others.
 */
export function parsePodList(raws: readonly unknown[], schema: z.ZodType<Pod>, logger: Logger | undefined): Pod[] {
  const pods: Pod[] = [];
  for (const raw of raws) {
    const parsed = schema.safeParse(raw);
    if (parsed.success) pods.push(parsed.data);
    else logger?.warn({ operation: 'listPods' }, 'dropped a malformed pod from the pod list');
  }
  return pods;
}

/**
 * A pod list read beside a snapshot, as its pod part: the pods, or the RunpodError it failed with,
 * so that its failure is the pod part's alone. An abort, or anything that is no RunpodError, is thrown.
 */
export async function podsPart(list: Promise<Pod[]>, signal: AbortSignal | undefined): Promise<PodsAnswer> {
  try {
    return { pods: await list };
  } catch (error) {
    if (error instanceof RunpodError && !signal?.aborted) return { error };
    throw error;
  }
}

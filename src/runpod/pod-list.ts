import type { z } from 'zod';
import type { Logger } from '../lib/logger.js';
import type { Pod } from './types.js';

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

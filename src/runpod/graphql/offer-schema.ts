import { z } from 'zod';
import type { StockLevel, WatchFilters } from '../types.js';

const NO_STOCK_WORDS = new Set(['', 'none', 'unavailable', 'out of stock', 'no stock']);
const LEVELS: Record<string, StockLevel> = { high: 'High', medium: 'Medium', low: 'Low' };

/**
 * Normalises RunPod's `stockStatus`. It is a free String: "High", "Medium", "Low", "None",
 * lowercase "none", or null. Anything we do not recognise counts as None: a watcher that spends
 * money must not act on a signal it cannot read.
 */
export function normaliseStock(raw: string | null | undefined): StockLevel {
  const word = (raw ?? '').trim().toLowerCase();
  if (NO_STOCK_WORDS.has(word)) return 'None';
  return LEVELS[word] ?? 'None';
}

const price = z.number().finite().nonnegative().nullish();

/** The `lowestPrice` fields the watcher reads; extra fields are ignored, wrong types are malformed. */
export const lowestPriceSchema = z
  .object({
    stockStatus: z.string().nullish(),
    uninterruptablePrice: price,
    minimumBidPrice: price,
    availableGpuCounts: z.array(z.number().int().positive().nullable()).nullish(),
  })
  .nullish()
  .transform((lp) => ({
    stock: normaliseStock(lp?.stockStatus),
    stockRaw: lp?.stockStatus ?? null,
    onDemandPrice: lp?.uninterruptablePrice ?? null,
    minBidPrice: lp?.minimumBidPrice ?? null,
    availableGpuCounts: lp?.availableGpuCounts ? lp.availableGpuCounts.filter((n): n is number => n !== null) : null,
  }));

/** The selection set matching `lowestPriceSchema`; `spot` false leaves out the retiring spot field. */
export function lowestPriceSelection(spot: boolean): string {
  return `stockStatus uninterruptablePrice ${spot ? 'minimumBidPrice ' : ''}availableGpuCounts`;
}

/**
 * `GpuLowestPriceInput` for a GPU count on a cloud (ALL leaves `secureCloud` out: both clouds), on
 * machines passing `filters` (each under RunPod's own name; CUDA versions as `allowedCudaVersions`).
 */
export function lowestPriceInput(gpuCount: number, cloud: 'SECURE' | 'COMMUNITY' | 'ALL', filters?: WatchFilters): Record<string, unknown> {
  const input: Record<string, unknown> = cloud === 'ALL' ? { gpuCount } : { gpuCount, secureCloud: cloud === 'SECURE' };
  if (!filters) return input;
  const { cudaVersions, ...rest } = filters;
  return { ...input, ...(cudaVersions ? { allowedCudaVersions: cudaVersions } : {}), ...rest };
}

/** Describes the first zod issue as `path: message`, for drop reasons and logs. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  return `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`;
}

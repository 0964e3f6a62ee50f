import { z } from 'zod';
import type { FleetFigures, StockLevel, WatchFilters } from '../types.js';

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

// A fleet figure RunPod words oddly (a string, a negative, a fraction of a GPU) is taken as not
// given: statistics never cost a key its stock and prices.
const gpus = z.number().int().nonnegative().nullish().catch(null);
const share = z.number().finite().nonnegative().nullish().catch(null);

/**
 * The fleet figures, or undefined when RunPod gave none. More GPUs rented than there are is no
 * reading at all: both counts are then dropped.
 */
function fleetOf(rented: number | null | undefined, total: number | null | undefined, percentage: number | null | undefined): FleetFigures | undefined {
  const counts = rented != null && total != null && rented > total ? { rentedCount: null, totalCount: null } : { rentedCount: rented ?? null, totalCount: total ?? null };
  const fleet = { ...counts, rentalPercentage: percentage ?? null };
  return fleet.rentedCount === null && fleet.totalCount === null && fleet.rentalPercentage === null ? undefined : fleet;
}

/**
 * The `lowestPrice` fields the watcher reads; extra fields are ignored, wrong types are malformed
 * (but for the fleet figures, see above). `fleet` is set only when RunPod gave a figure.
 */
export const lowestPriceSchema = z
  .object({
    stockStatus: z.string().nullish(),
    uninterruptablePrice: price,
    minimumBidPrice: price,
    availableGpuCounts: z.array(z.number().int().positive().nullable()).nullish(),
    rentedCount: gpus,
    totalCount: gpus,
    rentalPercentage: share,
  })
  .nullish()
  .transform((lp) => {
    const fleet = fleetOf(lp?.rentedCount, lp?.totalCount, lp?.rentalPercentage);
    return {
      stock: normaliseStock(lp?.stockStatus),
      stockRaw: lp?.stockStatus ?? null,
      onDemandPrice: lp?.uninterruptablePrice ?? null,
      minBidPrice: lp?.minimumBidPrice ?? null,
      availableGpuCounts: lp?.availableGpuCounts ? lp.availableGpuCounts.filter((n): n is number => n !== null) : null,
      ...(fleet ? { fleet } : {}),
    };
  });

/**
 * The selection set matching `lowestPriceSchema`; `spot` false leaves out the retiring spot field,
 * `fleet` adds the fleet figures (rented, total, percentage).
 */
export function lowestPriceSelection(spot: boolean, fleet = false): string {
  return `stockStatus uninterruptablePrice ${spot ? 'minimumBidPrice ' : ''}availableGpuCounts${fleet ? ' rentedCount totalCount rentalPercentage' : ''}`;
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

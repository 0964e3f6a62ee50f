import { z } from 'zod';
import { lowestPriceInput, lowestPriceSchema, lowestPriceSelection } from './offer-schema.js';
import type { GraphqlRequest } from './snapshot-query.js';
import type { CatalogEntry, CatalogQuery } from '../types.js';

/** Every GPU type with its lowest price at a GPU count on a cloud, on machines passing the query's filters. */
export function buildCatalogQuery({ gpuCount, cloud, filters }: CatalogQuery, spot: boolean): GraphqlRequest {
  return {
    document: `query Catalog($lowest: GpuLowestPriceInput) {
  gpuTypes { id displayName memoryInGb lowestPrice(input: $lowest) { ${lowestPriceSelection(spot)} } }
}`,
    variables: { lowest: lowestPriceInput(gpuCount, cloud, filters) },
  };
}

const entrySchema = z
  .object({
    id: z.string().min(1),
    displayName: z.string().nullish(),
    memoryInGb: z.number().int().nonnegative().nullish(),
    lowestPrice: lowestPriceSchema,
  })
  .transform(
    (t): CatalogEntry => ({ gpuTypeId: t.id, displayName: t.displayName ?? null, memoryInGb: t.memoryInGb ?? null, ...t.lowestPrice }),
  );

/** Parses the catalog answer, sorted by GPU type id; malformed entries are counted, not returned. */
export function parseCatalog(data: Record<string, unknown> | null | undefined, spot: boolean): { entries: CatalogEntry[]; malformed: number } {
  const list = Array.isArray(data?.gpuTypes) ? (data.gpuTypes as unknown[]) : [];
  const entries: CatalogEntry[] = [];
  let malformed = 0;
  for (const raw of list) {
    const parsed = entrySchema.safeParse(raw);
    if (!parsed.success) {
      malformed++;
      continue;
    }
    if (!spot) parsed.data.minBidPrice = null;
    entries.push(parsed.data);
  }
  entries.sort((a, b) => a.gpuTypeId.localeCompare(b.gpuTypeId));
  return { entries, malformed };
}

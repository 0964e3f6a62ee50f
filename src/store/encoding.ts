import { STOCK_LEVELS, type StockLevel } from '../runpod/types.js';

/** Prices are stored as integer ten-thousandths of a dollar: small varints, exact to $0.0001. */
export function priceToE4(price: number | null): number | null {
  return price === null ? null : Math.round(price * 10_000);
}

export function priceFromE4(e4: number | null): number | null {
  return e4 === null ? null : e4 / 10_000;
}

const MAX_COUNT = 52; // the largest n whose bit 2^(n-1) is still exact in a double

/** Deployable GPU counts as a bitmask (bit n-1 for n GPUs); counts above 52 cannot be stored. */
export function countsToMask(counts: readonly number[] | null): number | null {
  if (counts === null) return null;
  let mask = 0;
  for (const n of new Set(counts)) if (n >= 1 && n <= MAX_COUNT) mask += 2 ** (n - 1);
  return mask;
}

export function countsFromMask(mask: number | null): number[] | null {
  if (mask === null) return null;
  const counts: number[] = [];
  for (let n = 1, rest = mask; rest > 0; n++, rest = Math.floor(rest / 2)) if (rest % 2 === 1) counts.push(n);
  return counts;
}

export function stockToInt(stock: StockLevel): number {
  return STOCK_LEVELS.indexOf(stock);
}

export function stockFromInt(value: number): StockLevel {
  return STOCK_LEVELS[value] ?? 'None';
}

import type { Logger } from '../lib/logger.js';
import { perGpuHour } from '../lib/format.js';
import { keyId, type Snapshot } from '../runpod/types.js';
import type { MarketState, PollRecord, StateChange } from '../store/history.js';

/** A key's state in a few words, e.g. `High $0.79 bid $0.41`; `new` for a key not seen before. */
export function describeState(s: MarketState | null): string {
  return s === null ? 'new' : `${s.stock} ${perGpuHour(s.onDemandPrice, '-')}${s.minBidPrice !== null ? ` bid ${perGpuHour(s.minBidPrice)}` : ''}`;
}

/** Logs one answered poll: what changed, and which keys were dropped (a warning then). */
export function logPoll(log: Logger, poll: PollRecord, snapshot: Snapshot, changes: StateChange[]): void {
  const described = changes.map((c) => `${keyId(c.key)}: ${describeState(c.from)} -> ${describeState(c.to)}`);
  const fields = { outcome: poll.outcome, keys: snapshot.offers.length, dropped: snapshot.dropped.length, durationMs: poll.durationMs, changes: described };
  const headline = changes.length === 0 ? 'no change' : `${changes.length} changed`;
  if (poll.outcome === 'partial') log.warn(fields, `poll: ${snapshot.dropped.length} key(s) dropped, ${headline}`);
  else log.info(fields, `poll: ${headline}`);
}

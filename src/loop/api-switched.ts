import type { Logger } from '../lib/logger.js';
import { sanitise } from '../lib/sanitise.js';
import type { Store } from '../store/store.js';
import { newEvent } from '../events/event.js';

/**
 * Records that `api.source: auto` moved to REST v2 for good and tells `api.switched` to every
 * notifier, once per database: the fact and the event are written in one transaction, so a crash
 * neither repeats nor loses it, and a restart starts on v2.
 */
export function tellApiSwitchedOnce(store: Store, notifiers: readonly string[], detail: string, at: number, logger: Logger): void {
  if (store.daemon.apiSwitched.get() !== undefined) return;
  const clean = sanitise(detail);
  store.transaction(() => {
    store.daemon.apiSwitched.set({ at, detail: clean }, at);
    store.outbox.append(
      newEvent({ type: 'api.switched', summary: `RunPod has retired its GraphQL API (${clean}): the watcher now uses REST v2 for the market and pods`, details: { detail: clean } }, at),
      notifiers,
    );
  });
  logger.warn({ detail: clean }, 'switched to RunPod REST v2 for good');
}

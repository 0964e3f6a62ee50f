import type { RunpodError } from '../runpod/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../store/store.js';
import { newEvent } from '../events/event.js';

/**
 * Tells `api.retired` to every notifier the first time RunPod answers 410 Gone, and never again on
 * this database: the fact and the event are written in one transaction, so a restart neither
 * repeats nor loses it. Until the watcher can use RunPod's newer API, each such poll just fails.
 */
export function tellApiRetiredOnce(store: Store, notifiers: readonly string[], error: RunpodError, at: number, logger: Logger): void {
  if (store.daemon.apiRetired.get() !== undefined) return;
  store.transaction(() => {
    store.daemon.apiRetired.set({ at, detail: error.message }, at);
    store.outbox.append(
      newEvent({ type: 'api.retired', summary: `RunPod has retired the API the watcher uses (${error.message}): polls fail and nothing is deployed until the watcher moves to the newer API`, details: { detail: error.message } }, at),
      notifiers,
    );
  });
  logger.error({ detail: error.message }, 'RunPod answered 410 Gone: the API the watcher uses is retired; every poll fails until the watcher moves to the newer API');
}

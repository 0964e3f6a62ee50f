import { newEvent } from '../events/event.js';
import type { RulesContext } from './context.js';

// REST v2 answers 402 when the account's balance cannot pay. A top-up is invisible to us (no API
// tells it), so deploys and resumes wait a fixed hour on the monotonic clock and then try once
// more; the user is told once, and told again only after a deploy has gone through in between.

/** How long deploys and resumes wait after a 402 before trying again. */
export const PAYMENT_WAIT_MS = 60 * 60_000;

/**
 * Whether deploys and resumes wait for funds: a 402 came less than PAYMENT_WAIT_MS ago (monotonic,
 * in this process: after a restart one attempt goes out at once, which tells nothing twice).
 */
export function awaitingFunds(ctx: RulesContext): boolean {
  const at = ctx.payment.refusedAt;
  return !ctx.dryRun && at !== null && ctx.clock.monotonic() - at < PAYMENT_WAIT_MS;
}

/**
 * Starts the wait after a 402, and tells `account.payment_required` to every notifier unless it
 * was told since the last deploy that went through: the fact and the event are written in one
 * transaction, so a restart neither repeats nor loses it.
 */
export function paymentRefused(ctx: RulesContext, detail: string, now: number): void {
  ctx.payment.refusedAt = ctx.clock.monotonic();
  const { store } = ctx;
  if (store.daemon.paymentRequired.get()) return;
  store.transaction(() => {
    store.daemon.paymentRequired.set({ at: now, detail }, now);
    store.outbox.append(
      newEvent(
        {
          type: 'account.payment_required',
          summary: `RunPod refused a deploy for want of funds (${detail}): top up the account's balance. Deploys and resumes wait, and are tried again every hour`,
          details: { detail },
        },
        now,
      ),
      Object.keys(ctx.config.notifiers),
    );
  });
}

/** A deploy or resume went through: the account pays again, and a later 402 is told anew. */
export function paymentAccepted(ctx: RulesContext, now: number): void {
  ctx.payment.refusedAt = null;
  if (ctx.store.daemon.paymentRequired.get()) {
    ctx.store.daemon.paymentRequired.set(null, now);
    ctx.log.info('RunPod took a deploy again: the account pays');
  }
}

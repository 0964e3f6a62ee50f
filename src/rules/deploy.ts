import type { RuleConfig } from '../config/schema.js';
import { eventGpu } from '../events/event.js';
import { formatDuration } from '../lib/duration.js';
import { usd } from '../lib/format.js';
import { DEPLOY_ENV, RULE_ENV, type Pod, type PodSpec } from '../runpod/types.js';
import type { ExhaustionReasons, RuleReport, RuleState } from '../store/repositories.js';
import { configHash, emit, podFacts, type RulesContext } from './context.js';
import { exhaustionReasons, reasonsChanged, type DeployOption, type Skip } from './decide.js';
import { lifetimeOf, startFollowing } from './follow.js';
import { checkPrice } from './over-price.js';
import { awaitingFunds, paymentRefused } from './payment.js';
import { journaled, newDeployId, type SendFailure, type SendOutcome } from './send.js';

/** What a rule's deploy attempts came to this cycle, for its report. */
type DeployResult = { outcome: RuleReport['outcome']; detail: string };

/**
 * Tries the options in order until one deploys: at most one deploy per rule per cycle. Every
 * failed attempt is told (`pod.deploy_failed`), with what happens next; when every candidate was
 * refused or skipped, the rule is exhausted. A deployed pod joins `live`.
 */
export async function deployFirst(
  ctx: RulesContext,
  rule: RuleConfig,
  state: RuleState,
  options: DeployOption[],
  skipped: Skip[],
  live: Pod[],
  signal: AbortSignal,
): Promise<DeployResult> {
  const passedOver: string[] = skipped.filter((s) => s.candidate < (options[0]?.candidate ?? 0)).map((s) => `${s.gpuTypeId} ${s.reason} (${s.detail})`);
  const refused: { gpu: string; text: string }[] = [];
  const stopped = (detail: string) => ({ outcome: 'failed' as const, detail });
  for (const [index, first] of options.entries()) {
    if (!ctx.dryRun && !ctx.auth.open) return stopped('RunPod refused the API key');
    if (awaitingFunds(ctx)) return stopped("waiting for funds: RunPod refused a deploy for the account's balance (tried again hourly)");
    let option = first;
    let deployId = newDeployId();
    let deployedAt = ctx.clock.now();
    let outcome = await send(ctx, rule, option, deployId, deployedAt, signal);
    if (outcome.kind === 'failed' && outcome.error.spotField !== undefined && option.onDemand) {
      // RunPod's answer names a spot field: the same candidate on-demand tells whether spot is gone.
      const spotError = outcome.error;
      failed(ctx, rule, option, outcome, 'trying on-demand on the same candidate', ctx.clock.now());
      option = option.onDemand;
      deployId = newDeployId();
      deployedAt = ctx.clock.now();
      outcome = await send(ctx, rule, option, deployId, deployedAt, signal);
      if (outcome.kind === 'done') ctx.api.spot.retire(spotError.message, ctx.clock.now());
    }
    const now = ctx.clock.now();
    if (outcome.kind === 'aborted') return stopped('aborted');
    if (outcome.kind === 'done') {
      const price = await checkPrice(ctx, rule, option, deployId, outcome.pod, signal);
      if (price === 'stopped') {
        // Like a refusal: the candidate rests its retryAfter (or every cycle would make and stop a
        // dear pod again) and the next candidate is tried in the same cycle.
        state.retryUntil[option.gpuTypeId] = ctx.clock.now() + rule.retryAfter;
        const text = `${option.gpuTypeId} made above maxPrice (pod ${outcome.pod.id} at ${usd(outcome.pod.costPerHr)}/hr, stopped)`;
        refused.push({ gpu: option.gpuTypeId, text });
        passedOver.push(text);
        continue;
      }
      if (price === 'stop failed') {
        // The dear pod runs on and counts; the candidate rests all the same, so no second one is made.
        state.retryUntil[option.gpuTypeId] = ctx.clock.now() + rule.retryAfter;
        live.push(outcome.pod);
        return stopped(`pod ${outcome.pod.id} was made above maxPrice and could not be stopped`);
      }
      state.exhausted = null;
      live.push(outcome.pod);
      startFollowing(ctx, rule.name, outcome.pod, deployId, deployedAt, rule);
      if (passedOver.length > 0) {
        emit(ctx, 'rule.fallback', rule.notify, now, {
          summary: `${rule.name} fell back to ${option.gpuTypeId}: ${passedOver.join('; ')}`,
          rule: rule.name,
          gpu: eventGpu(option.offer),
          details: { passedOver },
        });
      }
      tellDeployed(ctx, rule, option, outcome.pod, now);
      return { outcome: 'deployed', detail: `pod ${outcome.pod.id} on ${outcome.pod.gpuTypeId ?? option.gpuTypeId} (${outcome.pod.kind})` };
    }
    const message = outcome.error.message;
    switch (outcome.next) {
      case 'fall back': {
        state.retryUntil[option.gpuTypeId] = now + rule.retryAfter;
        const text = `${option.gpuTypeId} refused by RunPod (${message})`;
        refused.push({ gpu: option.gpuTypeId, text });
        passedOver.push(text);
        const next = options[index + 1];
        const then = next ? `trying the next candidate ${next.gpuTypeId}` : 'no candidate left this cycle; rule exhausted';
        failed(ctx, rule, option, outcome, `${option.gpuTypeId} is skipped for ${formatDuration(rule.retryAfter)}; ${then}`, now);
        continue;
      }
      case 'block':
        state.blocked = { reason: message, configHash: configHash(rule) };
        failed(ctx, rule, option, outcome, 'the rule rests until its config changes', now);
        return stopped(`RunPod refused the request; resting until the rule changes (${message})`);
      case 'wait for funds':
        failed(ctx, rule, option, outcome, 'no deploys or resumes for an hour, then one more try', now);
        paymentRefused(ctx, message, now);
        return stopped(`RunPod refused it for want of funds; trying again in an hour (${message})`);
      case 'wait for pod list':
        failed(ctx, rule, option, outcome, 'the pod list will tell whether it was made, and the rule waits until then', now);
        return stopped(`no answer; waiting for the pod list (${message})`);
      case 'stop: key':
        ctx.auth.refuse(message, 'write');
        failed(ctx, rule, option, outcome, 'no deploys until RunPod accepts the key', now);
        return stopped(`RunPod refused the API key (${message})`);
      case 'stop: retired':
        failed(ctx, rule, option, outcome, 'no deploys until the watcher moves to the newer API', now);
        return stopped(`RunPod has retired the API (${message})`);
      case 'next cycle':
        failed(ctx, rule, option, outcome, 'tried again next cycle', now);
        return stopped(message);
    }
  }
  const why = [describeSkips(skipped), ...refused.map((r) => r.text)].filter((part) => part !== '').join('; ');
  tellExhausted(ctx, rule, state, exhaustionReasons(skipped, refused.map((r) => r.gpu), state.exhausted), why, ctx.clock.now());
  return { outcome: 'exhausted', detail: why };
}

/** Tells `rule.exhausted` at the start of a stretch with nothing to deploy, and again when its reasons change. */
export function tellExhausted(ctx: RulesContext, rule: RuleConfig, state: RuleState, reasons: ExhaustionReasons, why: string, now: number): void {
  if (reasonsChanged(state.exhausted, reasons)) {
    ctx.log.info({ rule: rule.name, reasons }, `no candidate left this cycle; rule exhausted: ${why}`);
    emit(ctx, 'rule.exhausted', rule.notify, now, { summary: `${rule.name} has nothing to deploy: ${why}`, rule: rule.name, details: { reasons }, ...firstCandidateInsight(ctx, rule) });
  } else {
    ctx.log.debug({ rule: rule.name, reasons }, 'rule still exhausted, for the same reasons');
  }
  state.exhausted = reasons;
}

/** The history's sentence on the rule's first candidate, the GPU it wants most, named: `{ insight }`, or nothing. */
function firstCandidateInsight(ctx: RulesContext, rule: RuleConfig): { insight?: string } {
  const first = rule.candidates[0];
  const sentence = first && ctx.insight?.({ gpuTypeId: first.gpu, gpuCount: rule.gpuCount, cloud: rule.cloud });
  return first && sentence ? { insight: `${first.gpu}: ${sentence}` } : {};
}

/** The skipped candidates, each with its reason and detail, in one line. */
export function describeSkips(skipped: readonly Skip[]): string {
  return skipped.map((s) => `${s.gpuTypeId}: ${s.reason} (${s.detail})`).join('; ');
}

/** Journals, then sends, one deploy (with the pod's end when the rule has a ttl); classifies how it ended. */
async function send(ctx: RulesContext, rule: RuleConfig, option: DeployOption, id: string, at: number, signal: AbortSignal): Promise<SendOutcome> {
  const spec: PodSpec = { ...rule.pod, name: rule.pod.name ?? rule.name, env: { ...rule.pod.env, [RULE_ENV]: rule.name, [DEPLOY_ENV]: id } };
  const lifetime = lifetimeOf(rule, at);
  const base = { gpuTypeId: option.gpuTypeId, gpuCount: rule.gpuCount, cloud: rule.cloud, spec, ...(lifetime ? { lifetime } : {}) };
  return journaled(
    ctx,
    { id, rule: rule.name, gpuTypeId: option.gpuTypeId, gpuCount: rule.gpuCount, cloud: rule.cloud, kind: option.kind, price: option.pricePerGpu },
    () =>
      option.kind === 'spot'
        ? ctx.api.deploySpot({ ...base, bidPerGpu: option.bidPerGpu ?? option.pricePerGpu }, { signal })
        : ctx.api.deployOnDemand({ ...base, deployCost: option.deployCost ?? option.costPerHr }, { signal }),
    () => ({
      id: `dry-run-${id}`,
      name: spec.name ?? rule.name,
      desiredStatus: 'RUNNING',
      costPerHr: option.costPerHr,
      gpuCount: rule.gpuCount,
      gpuTypeId: option.gpuTypeId,
      gpuDisplayName: option.offer.displayName,
      imageName: spec.imageName ?? null,
      cloud: rule.cloud === 'ALL' ? null : rule.cloud,
      kind: option.kind,
      watcher: { rule: rule.name, deployId: id },
      runtime: null,
    }),
    signal,
  );
}

/**
 * Tells one failed deploy attempt: `pod.deploy_failed` with the candidate, the kind of refusal and
 * RunPod's (sanitised) message, and a log line; both say what happens next.
 */
function failed(ctx: RulesContext, rule: RuleConfig, option: DeployOption, outcome: SendFailure, next: string, now: number): void {
  const { error } = outcome;
  const why = `${refusalWords(outcome)}; ${next}`;
  const fields = { rule: rule.name, gpu: option.gpuTypeId, kind: option.kind, refusal: error.kind };
  if (error.kind === 'capacity') ctx.log.info(fields, `deploy refused: ${why}`);
  else ctx.log.warn(fields, `deploy failed: ${why}`);
  emit(ctx, 'pod.deploy_failed', rule.notify, now, {
    summary: `${rule.name} could not deploy ${option.gpuTypeId} ${option.kind}: ${why}`,
    rule: rule.name,
    gpu: eventGpu(option.offer),
    details: { candidate: option.gpuTypeId, kind: option.kind, refusal: error.kind, message: error.message, next },
  });
}

/** Tells a deploy that went through: `pod.deployed`, and a log line. */
function tellDeployed(ctx: RulesContext, rule: RuleConfig, option: DeployOption, pod: Pod, now: number): void {
  const how = option.kind === 'spot' ? `spot at a bid of ${usd(option.pricePerGpu)}/GPU/hr` : `on-demand at ${usd(option.pricePerGpu)}/GPU/hr`;
  const dry = ctx.dryRun ? ' (dry run: nothing was sent)' : '';
  ctx.log.info({ rule: rule.name, pod: pod.id, gpu: option.gpuTypeId, kind: option.kind, price: option.pricePerGpu, dryRun: ctx.dryRun }, 'deployed');
  emit(ctx, 'pod.deployed', rule.notify, now, {
    summary: `${rule.name} deployed ${option.gpuTypeId} x${rule.gpuCount} ${how} (pod ${pod.id})${dry}`,
    rule: rule.name,
    gpu: eventGpu(option.offer),
    pod: podFacts(pod),
  });
}

/** What RunPod's refusal means, in words, with its (already sanitised) message. */
function refusalWords(outcome: SendFailure): string {
  const { error } = outcome;
  switch (error.kind) {
    case 'capacity':
      return `RunPod has no capacity for it (${error.message})`;
    case 'no_access':
      return `RunPod gives this account no access to that GPU pool (${error.message})`;
    case 'unsupported':
      return error.spotField !== undefined ? `RunPod no longer takes spot (${error.message})` : `RunPod no longer accepts the request (${error.message})`;
    case 'invalid_request':
      return `RunPod refused the request: ${error.message}`;
    case 'auth':
      return `RunPod refused the API key (${error.message})`;
    case 'retired':
      return `RunPod has retired the API (${error.message})`;
    case 'payment':
      return `RunPod refused it for want of funds: the account's balance is too low (${error.message})`;
    case 'transient':
    case 'rate_limited':
      return outcome.next === 'wait for pod list' ? `no answer (${error.message})` : error.message;
  }
}

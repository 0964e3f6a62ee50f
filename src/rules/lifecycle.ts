import type { RuleConfig } from '../config/schema.js';
import { formatDuration, humanDuration } from '../lib/duration.js';
import type { Pod } from '../runpod/types.js';
import type { LifecycleAction, LifecycleReason, LifecycleRecord } from '../store/repositories.js';
import { connectionOf, isReady } from './connect.js';
import { emit, isLive, type RulesContext } from './context.js';
import { INITIAL_RULE_STATE } from './decide.js';
import { actionDone, pendingState, sendAction } from './lifecycle-action.js';

/** Utilisation is sampled at most this often per pod (from the cycle's pod list, which carries it). */
const SAMPLE_EVERY_MS = 60_000;

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Follows every pod the watcher deployed or resumed, on this cycle's pod list (which carries each
 * pod's runtime: following costs no request of its own): tells `pod.ready` once it is up;
 * terminates a rule's pod not ready within `startTimeout` (or in ERROR), resting its candidate so
 * the rule falls back in the same cycle; warns of and enforces the end of its `ttl`; samples its
 * GPUs and stops it after `idle.for` below the threshold. Returns the ids of pods it stopped or
 * terminated this cycle, which the rules then no longer count as live.
 */
export async function followPods(ctx: RulesContext, pods: readonly Pod[], signal: AbortSignal): Promise<Set<string>> {
  const ended = new Set<string>();
  if (ctx.dryRun) return ended;
  for (const record of ctx.store.lifecycle.open()) {
    if (signal.aborted) break;
    const pod = pods.find((p) => p.id === record.podId);
    const rule = ctx.config.rules.find((r) => r.name === record.rule);
    if (await followOne(ctx, record, pod, rule, signal)) ended.add(record.podId);
  }
  return ended;
}

/** One pod's turn; true when it was stopped or terminated. */
async function followOne(ctx: RulesContext, record: LifecycleRecord, pod: Pod | undefined, rule: RuleConfig | undefined, signal: AbortSignal): Promise<boolean> {
  const now = ctx.clock.now();
  const { lifecycle } = ctx.store;
  if (record.actionStatus === 'pending' && record.action !== null && record.actionReason !== null) {
    const state = pendingState(ctx, record, pod, now);
    if (state === 'done') {
      finish(ctx, record, record.action, record.actionReason, rule, now, pod?.desiredStatus ?? 'TERMINATED');
      return true;
    }
    if (state === 'wait') return false;
    return act(ctx, record, record.action, record.actionReason, rule, signal);
  }
  // REST v2's ERROR: the container failed for good; no need to wait out the start timeout.
  if (pod?.desiredStatus === 'ERROR' && record.readyAt === null && record.startTimeoutMs !== null) {
    return act(ctx, record, 'terminate', 'start_timeout', rule, signal, pod.desiredStatus);
  }
  // An action RunPod answered with an error, yet the pod list shows it done: it was the watcher's.
  if (record.actionStatus === 'failed' && record.action !== null && record.actionReason !== null && actionDone(record.action, pod)) {
    finish(ctx, record, record.action, record.actionReason, rule, now, pod?.desiredStatus ?? 'TERMINATED');
    return true;
  }
  const expired = record.expiresAt !== null && now >= record.expiresAt;
  if (!pod || !isLive(pod)) {
    if (expired && rule) {
      // RunPod's own stopAfter / terminateAfter ended it (or someone did, once its time was up).
      ctx.store.transaction(() => {
        lifecycle.beginAction(record.podId, rule.onExpiry, 'expired', now);
        lifecycle.completeAction(record.podId, 'done', now);
        tellExpired(ctx, record, rule, 'ended', now, 'runpod');
      });
    } else if (!pod) lifecycle.note(record.podId, { endedAt: now });
    return false;
  }
  const exposesPorts = (rule?.pod.ports ?? '').trim() !== '';
  if (record.readyAt === null) {
    if (isReady(pod, exposesPorts)) tellReady(ctx, record, pod, now);
    else if (record.startTimeoutMs !== null && now - record.startedAt >= record.startTimeoutMs) {
      return act(ctx, record, 'terminate', 'start_timeout', rule, signal, pod.desiredStatus);
    } else return false;
  }
  if (!rule) return false;
  if (record.expiresAt !== null) {
    if (expired) return act(ctx, record, rule.onExpiry, 'expired', rule, signal);
    if (!record.expiryWarned && now >= record.expiresAt - rule.warnBefore) {
      ctx.store.transaction(() => {
        lifecycle.note(record.podId, { expiryWarned: true });
        tellExpired(ctx, record, rule, 'warning', now);
      });
    }
  }
  return rule.idle ? watchIdle(ctx, record, pod, rule, rule.idle, now, signal) : false;
}

/** Samples the pod's GPUs (at most once a minute) and acts once they have idled for `idle.for`. */
async function watchIdle(
  ctx: RulesContext,
  record: LifecycleRecord,
  pod: Pod,
  rule: RuleConfig,
  idle: NonNullable<RuleConfig['idle']>,
  now: number,
  signal: AbortSignal,
): Promise<boolean> {
  const utils = pod.runtime?.gpuUtilPercent ?? [];
  let idleSince = record.idleSince;
  if (utils.length > 0 && (record.utilAt === null || now - record.utilAt >= SAMPLE_EVERY_MS)) {
    const util = Math.max(...utils);
    idleSince = util < idle.gpuUtilBelow ? (idleSince ?? now) : null;
    // A busy sample clears idle_since (null is written) and the warning with it.
    ctx.store.lifecycle.note(record.podId, { util, utilAt: now, idleSince, ...(idleSince === null ? { idleWarned: false } : {}) });
  }
  if (idleSince === null) return false;
  const idleFor = now - idleSince;
  if (idleFor >= idle.for) return act(ctx, { ...record, idleSince }, idle.action, 'idle', rule, signal);
  if (!record.idleWarned && idleFor >= idle.for - rule.warnBefore) {
    ctx.store.transaction(() => {
      ctx.store.lifecycle.note(record.podId, { idleWarned: true });
      emit(ctx, 'pod.idle', rule.notify, now, {
        summary: `${rule.name}: pod ${record.podId} has idled since ${iso(idleSince)} (GPUs below ${idle.gpuUtilBelow}%); it will be ${idle.action === 'stop' ? 'stopped' : 'terminated'} at ${iso(idleSince + idle.for)} unless they get busy`,
        rule: rule.name,
        pod: record.pod,
        details: { gpuUtilPercent: Math.max(...utils, 0), idleSince: iso(idleSince), actAt: iso(idleSince + idle.for), action: idle.action },
      });
    });
  }
  return false;
}

/** Sends the action; when it went through, completes it with its event in one transaction. */
async function act(
  ctx: RulesContext,
  record: LifecycleRecord,
  action: LifecycleAction,
  reason: LifecycleReason,
  rule: RuleConfig | undefined,
  signal: AbortSignal,
  status = 'RUNNING',
): Promise<boolean> {
  ctx.log.info({ pod: record.podId, rule: record.rule, action, reason }, `${action} pod ${record.podId} (${reason.replace('_', ' ')})`);
  const outcome = await sendAction(ctx, record.podId, action, reason, signal);
  if (outcome.kind !== 'done') return false;
  finish(ctx, record, action, reason, rule, ctx.clock.now(), status);
  return true;
}

/**
 * Completes a done action and tells it, in one transaction. A pod given up on start-up also has its
 * deploy journaled as refused (it counts toward neither maxDeploys nor the budget) and its candidate
 * resting `retryAfter`, so the rule tries its next candidate.
 */
function finish(ctx: RulesContext, record: LifecycleRecord, action: LifecycleAction, reason: LifecycleReason, rule: RuleConfig | undefined, now: number, status: string): void {
  const notify = rule?.notify ?? [];
  ctx.store.transaction(() => {
    ctx.store.lifecycle.completeAction(record.podId, 'done', now);
    if (reason === 'start_timeout') {
      ctx.store.journal.complete(record.deployId, 'refused', now, { podId: record.podId, error: 'start timeout: the pod was not ready in time and was terminated' });
      if (rule) {
        const state = structuredClone({ ...INITIAL_RULE_STATE, ...ctx.ruleStates.get(rule.name) });
        state.retryUntil[record.gpuTypeId] = now + rule.retryAfter;
        ctx.ruleStates.set(rule.name, state, now);
      }
      const waited = Math.round((now - record.startedAt) / 1000);
      emit(ctx, 'pod.start_timeout', notify, now, {
        summary: `${record.rule}: pod ${record.podId} (${record.gpuTypeId}) was not ready after ${humanDuration(now - record.startedAt)}; terminated it, ${record.gpuTypeId} rests ${rule ? formatDuration(rule.retryAfter) : 'its retryAfter'} and the next candidate is tried`,
        rule: record.rule,
        pod: record.pod,
        details: { candidate: record.gpuTypeId, waitedSeconds: waited, status },
      });
    } else if (reason === 'expired' && rule) {
      tellExpired(ctx, record, rule, 'ended', now, 'watcher');
    } else if (reason === 'idle') {
      emit(ctx, 'pod.stopped', notify, now, {
        summary: `${record.rule}: ${action === 'stop' ? 'stopped' : 'terminated'} pod ${record.podId}: its GPUs idled since ${record.idleSince === null ? 'unknown' : iso(record.idleSince)}`,
        rule: record.rule,
        pod: record.pod,
        details: { reason: 'idle', action, idleSince: iso(record.idleSince ?? now) },
      });
    }
  });
}

function tellReady(ctx: RulesContext, record: LifecycleRecord, pod: Pod, now: number): void {
  const { ports, ssh } = connectionOf(pod.id, pod.runtime ?? { uptimeSeconds: 0, ports: [], gpuUtilPercent: [] });
  const after = Math.max(0, now - record.startedAt);
  const reach = ssh ?? ports.map((p) => p.url ?? p.address).filter((x) => x !== undefined)[0];
  ctx.store.transaction(() => {
    ctx.store.lifecycle.note(record.podId, { readyAt: now });
    emit(ctx, 'pod.ready', ctx.config.rules.find((r) => r.name === record.rule)?.notify ?? ctx.config.resume.find((r) => r.name === record.rule)?.notify ?? [], now, {
      summary: `${record.rule}: pod ${pod.id} is ready after ${humanDuration(after)}${reach ? `: ${reach}` : ''}`,
      rule: record.rule,
      pod: record.pod,
      details: { readyAfterSeconds: Math.round(after / 1000), ports, ...(ssh ? { ssh } : {}) },
    });
  });
}

function tellExpired(ctx: RulesContext, record: LifecycleRecord, rule: RuleConfig, phase: 'warning' | 'ended', now: number, by?: 'watcher' | 'runpod'): void {
  const at = record.expiresAt ?? now;
  const verb = rule.onExpiry === 'stop' ? 'stopped' : 'terminated';
  const summary =
    phase === 'warning'
      ? `${rule.name}: pod ${record.podId} reaches its ttl at ${iso(at)} and will be ${verb} then`
      : `${rule.name}: pod ${record.podId} reached its ttl and was ${verb}${by === 'runpod' ? ' by RunPod' : ''}`;
  emit(ctx, 'pod.expired', rule.notify, now, {
    summary,
    rule: rule.name,
    pod: record.pod,
    details: { phase, expiresAt: iso(at), action: rule.onExpiry, ...(by ? { by } : {}) },
  });
}

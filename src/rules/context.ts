import { createHash } from 'node:crypto';
import type { RuleConfig } from '../config/schema.js';
import type { Config } from '../config/schema.js';
import type { VolumeDataCenters } from '../config/watched-keys.js';
import { newEvent, type EventType, type WatcherEvent } from '../events/event.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { Pod, RunpodApi, WatchKey } from '../runpod/types.js';
import type { NamedState, ResumeState, RuleState } from '../store/repositories.js';
import type { Store } from '../store/store.js';

/** Which kind of call RunPod refused the key for, or let through. */
type KeyUse = 'read' | 'write';

/**
 * Whether mutations may be sent, and where the engine reports what RunPod said of the key: the
 * watch loop's key gate as the rules use it, declared here so that rules/ needs nothing of loop/.
 */
interface KeyGate {
  readonly open: boolean;
  refuse(detail: string, use: KeyUse): void;
  accept(use: KeyUse): void;
}

/** What the rules engine needs; everything with a side effect is passed in. */
export interface RulesEngineDeps {
  api: RunpodApi;
  store: Store;
  config: Config;
  clock: Clock;
  logger: Logger;
  auth: KeyGate;
  dryRun: boolean;
  /** The rules' network volumes' data centers, read from the account at start (absent: none known). */
  volumes?: VolumeDataCenters;
  /** What the history says of a key in one sentence (`usually back within 40 min: …`), cached by its provider; undefined when too little is recorded. */
  insight?: (key: WatchKey) => string | undefined;
}

/** What the parts of the engine (reconcile, deploy, resume) share for the life of the process. */
export interface RulesContext extends Omit<RulesEngineDeps, 'logger'> {
  log: Logger;
  /** Each rule's and resume entry's state: the store's, or in a dry run a copy kept in memory. */
  ruleStates: NamedState<RuleState>;
  resumeStates: NamedState<ResumeState>;
  /** A dry run's would-be pods, deployed or resumed: no pod list shows them. */
  dryRunPods: Pod[];
  /**
   * Monotonic time at which this process journaled, or first found unresolved, each deploy whose
   * outcome is unknown: the grace is measured on it as well as on the journal's wall-clock time.
   */
  unresolvedSince: Map<string, number>;
  /** Monotonic time at which this process sent, or first found pending, each pod's lifecycle action (see lifecycle-action.ts). */
  actionSince: Map<string, number>;
  /** Monotonic time of RunPod's last 402 in this process, null once a deploy went through (see payment.ts). */
  payment: { refusedAt: number | null };
}

/** Whether RunPod runs the pod, or is starting it (GraphQL's CREATED, REST v2's PROVISIONING and STARTING). */
export const isLive = (pod: Pod): boolean => LIVE.has(pod.desiredStatus);
const LIVE: ReadonlySet<Pod['desiredStatus']> = new Set(['RUNNING', 'CREATED', 'PROVISIONING', 'STARTING']);

/** A pod as an event carries it. */
export const podFacts = (pod: Pod): NonNullable<WatcherEvent['pod']> => ({ id: pod.id, name: pod.name, kind: pod.kind, costPerHr: pod.costPerHr });

/** Puts an event in the outbox for the named notifiers, marked as a dry run's when it is one. */
export function emit(ctx: RulesContext, type: EventType, notify: readonly string[], now: number, fields: Omit<WatcherEvent, 'id' | 'time' | 'dryRun' | 'type'>): void {
  ctx.store.outbox.append(newEvent({ type, dryRun: ctx.dryRun, ...fields }, now), notify);
}

/** A fingerprint of a rule's config: a rule blocked by an invalid request, or resting after its pods ended, wakes when it changes. */
export function configHash(rule: RuleConfig): string {
  return createHash('sha256').update(JSON.stringify(rule)).digest('hex').slice(0, 16);
}

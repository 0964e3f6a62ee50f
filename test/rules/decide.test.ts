import { describe, expect, it } from 'vitest';
import { keyId, type GpuOffer, type StockLevel } from '../../src/runpod/types.js';
import { normaliseStock } from '../../src/runpod/graphql/offer-schema.js';
import { decideRule, exhaustionReasons, INITIAL_RULE_STATE, reasonsChanged, type RuleContext, type Skip } from '../../src/rules/decide.js';
import type { RuleState } from '../../src/store/repositories.js';
import { ruleOf } from '../helpers/rules.js';

const NOW = Date.UTC(2026, 10, 29, 10);
const A6000 = 'NVIDIA RTX A6000';
const A5000 = 'NVIDIA RTX A5000';

function offer(gpu: string, stock: StockLevel, onDemand: number | null, minBid: number | null, counts: number[] | null = [1, 2, 4], gpuCount = 1): GpuOffer {
  return { key: { gpuTypeId: gpu, gpuCount, cloud: 'SECURE' }, displayName: null, stock, stockRaw: stock, onDemandPrice: onDemand, minBidPrice: minBid, availableGpuCounts: counts };
}

function ctx(offers: GpuOffer[], extra: Partial<RuleContext> = {}): RuleContext {
  return {
    offers: new Map(offers.map((o) => [keyId(o.key), o])),
    rulePods: 0,
    deploys: 0,
    unresolvedDeploys: 0,
    endedPods: 0,
    budgetPods: 0,
    budgetSpend: 0,
    spent: { day: 0, month: 0 },
    budget: undefined,
    spotAvailable: true,
    configHash: 'h1',
    now: NOW,
    ...extra,
  };
}

/** A compact view of a decision: what it is, and the options or skips in order. */
function summary(decision: ReturnType<typeof decideRule>): string[] {
  switch (decision.kind) {
    case 'rest':
      return [`rest: ${decision.reason}`];
    case 'deploy':
      return decision.options.map((o) => `${o.gpuTypeId} ${o.kind} @${o.pricePerGpu}${o.deployCost !== undefined ? ` cost<=${o.deployCost}` : ''}${o.bidPerGpu !== undefined ? ` bid=${o.bidPerGpu}` : ''}`);
    default:
      return [decision.kind, ...decision.skipped.map((s) => `${s.gpuTypeId}: ${s.reason}`)];
  }
}

const two = [{ gpu: A6000, maxPrice: 0.8, bid: 0.45 }, { gpu: A5000, maxPrice: 0.5 }];

describe('decideRule', () => {
  const cases: { name: string; rule?: Record<string, unknown>; offers: GpuOffer[]; state?: Partial<RuleState>; ctx?: Partial<RuleContext>; expected: string[] }[] = [
    // stock ranks against minStock (default Medium)
    { name: 'High passes minStock Medium', rule: { spot: 'never' }, offers: [offer(A6000, 'High', 0.79, 0.5)], expected: ['NVIDIA RTX A6000 on-demand @0.79 cost<=0.8'] },
    { name: 'Medium passes minStock Medium', rule: { spot: 'never' }, offers: [offer(A6000, 'Medium', 0.79, 0.5)], expected: ['NVIDIA RTX A6000 on-demand @0.79 cost<=0.8'] },
    { name: 'Low is below minStock Medium', offers: [offer(A6000, 'Low', 0.79, 0.5)], expected: ['exhausted', 'NVIDIA RTX A6000: stock'] },
    { name: 'None is below everything', rule: { minStock: 'Low' }, offers: [offer(A6000, 'None', 0.79, 0.5)], expected: ['exhausted', 'NVIDIA RTX A6000: stock'] },
    { name: 'Low passes minStock Low', rule: { minStock: 'Low', spot: 'never' }, offers: [offer(A6000, 'Low', 0.79, 0.5)], expected: ['NVIDIA RTX A6000 on-demand @0.79 cost<=0.8'] },
    { name: 'High passes minStock High', rule: { minStock: 'High', spot: 'never' }, offers: [offer(A6000, 'High', 0.79, 0.5)], expected: ['NVIDIA RTX A6000 on-demand @0.79 cost<=0.8'] },
    { name: 'Medium fails minStock High', rule: { minStock: 'High' }, offers: [offer(A6000, 'Medium', 0.79, 0.5)], expected: ['exhausted', 'NVIDIA RTX A6000: stock'] },
    // availableGpuCounts
    { name: 'counts lacking gpuCount skip', rule: { gpuCount: 2 }, offers: [offer(A6000, 'High', 0.79, 0.5, [1, 4], 2)], expected: ['exhausted', 'NVIDIA RTX A6000: count'] },
    { name: 'empty counts skip', offers: [offer(A6000, 'High', 0.79, 0.5, [])], expected: ['exhausted', 'NVIDIA RTX A6000: count'] },
    { name: 'unknown counts do not skip', rule: { spot: 'never' }, offers: [offer(A6000, 'High', 0.79, 0.5, null)], expected: ['NVIDIA RTX A6000 on-demand @0.79 cost<=0.8'] },
    { name: 'deployCost is maxPrice x gpuCount', rule: { gpuCount: 2, spot: 'never' }, offers: [offer(A6000, 'High', 0.79, 0.5, [2], 2)], expected: ['NVIDIA RTX A6000 on-demand @0.79 cost<=1.6'] },
    // spot
    { name: 'prefer: spot when min bid <= bid', offers: [offer(A6000, 'High', 0.79, 0.41)], expected: ['NVIDIA RTX A6000 spot @0.45 bid=0.45'] },
    { name: 'prefer: spot at min bid == bid', offers: [offer(A6000, 'High', 0.79, 0.45)], expected: ['NVIDIA RTX A6000 spot @0.45 bid=0.45'] },
    { name: 'prefer: on-demand when min bid > bid', offers: [offer(A6000, 'High', 0.79, 0.5)], expected: ['NVIDIA RTX A6000 on-demand @0.79 cost<=0.8'] },
    { name: 'prefer: on-demand when min bid is missing', offers: [offer(A6000, 'High', 0.79, null)], expected: ['NVIDIA RTX A6000 on-demand @0.79 cost<=0.8'] },
    { name: 'only: spot when min bid <= bid', rule: { spot: 'only' }, offers: [offer(A6000, 'High', 0.79, 0.3)], expected: ['NVIDIA RTX A6000 spot @0.45 bid=0.45'] },
    { name: 'only: never on-demand', rule: { spot: 'only' }, offers: [offer(A6000, 'High', 0.5, 0.5)], expected: ['exhausted', 'NVIDIA RTX A6000: price'] },
    { name: 'never: on-demand even with a low bid', rule: { spot: 'never' }, offers: [offer(A6000, 'High', 0.79, 0.1)], expected: ['NVIDIA RTX A6000 on-demand @0.79 cost<=0.8'] },
    { name: 'spot retired: on-demand', offers: [offer(A6000, 'High', 0.79, 0.3)], ctx: { spotAvailable: false }, expected: ['NVIDIA RTX A6000 on-demand @0.79 cost<=0.8'] },
    { name: 'neither price holds', offers: [offer(A6000, 'High', 0.81, 0.46)], expected: ['exhausted', 'NVIDIA RTX A6000: price'] },
    { name: 'no on-demand price and no bid: skipped', rule: { candidates: [{ gpu: A6000, maxPrice: 0.8 }] }, offers: [offer(A6000, 'High', null, 0.1)], expected: ['exhausted', 'NVIDIA RTX A6000: price'] },
    // fallback order
    { name: 'falls back when the first is low', rule: { candidates: two }, offers: [offer(A6000, 'Low', 0.79, 0.4), offer(A5000, 'High', 0.36, 0.2)], expected: ['NVIDIA RTX A5000 on-demand @0.36 cost<=0.5'] },
    { name: 'lists every passing candidate in order', rule: { candidates: two }, offers: [offer(A6000, 'High', 0.79, 0.5), offer(A5000, 'High', 0.36, 0.2)], expected: ['NVIDIA RTX A6000 on-demand @0.79 cost<=0.8', 'NVIDIA RTX A5000 on-demand @0.36 cost<=0.5'] },
    { name: 'a candidate with no data this cycle is skipped', rule: { candidates: two }, offers: [offer(A5000, 'High', 0.36, 0.2)], expected: ['NVIDIA RTX A5000 on-demand @0.36 cost<=0.5'] },
    // retry window
    { name: 'inside its retryAfter window', rule: { candidates: two }, offers: [offer(A6000, 'High', 0.79, 0.5), offer(A5000, 'High', 0.36, 0.2)], state: { retryUntil: { [A6000]: NOW + 1 } }, expected: ['NVIDIA RTX A5000 on-demand @0.36 cost<=0.5'] },
    { name: 'after its retryAfter window', rule: { spot: 'never' }, offers: [offer(A6000, 'High', 0.79, 0.5)], state: { retryUntil: { [A6000]: NOW } }, expected: ['NVIDIA RTX A6000 on-demand @0.79 cost<=0.8'] },
    // resting
    { name: 'maxPods reached', offers: [offer(A6000, 'High', 0.79, 0.4)], ctx: { rulePods: 1 }, expected: ['rest: max pods'] },
    { name: 'maxPods 2 with one live pod deploys', rule: { maxPods: 2, spot: 'never' }, offers: [offer(A6000, 'High', 0.79, 0.4)], ctx: { rulePods: 1 }, expected: ['NVIDIA RTX A6000 on-demand @0.79 cost<=0.8'] },
    { name: 'maxDeploys reached', rule: { maxDeploys: 2 }, offers: [offer(A6000, 'High', 0.79, 0.4)], ctx: { deploys: 2 }, expected: ['rest: max deploys'] },
    { name: 'a deploy with no known outcome', offers: [offer(A6000, 'High', 0.79, 0.4)], ctx: { unresolvedDeploys: 1 }, expected: ['rest: unresolved deploy'] },
    { name: 'blocked by an invalid request, config unchanged', offers: [offer(A6000, 'High', 0.79, 0.4)], state: { blocked: { reason: 'bad image', configHash: 'h1' } }, expected: ['rest: blocked'] },
    { name: 'blocked, but the config changed since', rule: { spot: 'never' }, offers: [offer(A6000, 'High', 0.79, 0.4)], state: { blocked: { reason: 'bad image', configHash: 'h0' } }, expected: ['NVIDIA RTX A6000 on-demand @0.79 cost<=0.8'] },
    // budget
    { name: 'budget maxPods reached', offers: [offer(A6000, 'High', 0.79, 0.4)], ctx: { budget: { maxPods: 2 }, budgetPods: 2 }, expected: ['rest: budget pods'] },
    { name: 'budget maxPods leaves room', rule: { spot: 'never' }, offers: [offer(A6000, 'High', 0.79, 0.4)], ctx: { budget: { maxPods: 2 }, budgetPods: 1 }, expected: ['NVIDIA RTX A6000 on-demand @0.79 cost<=0.8'] },
    { name: 'spend would pass the budget', rule: { spot: 'never' }, offers: [offer(A6000, 'High', 0.79, 0.4)], ctx: { budget: { maxHourlySpend: 2 }, budgetSpend: 1.5 }, expected: ['over budget', 'NVIDIA RTX A6000: budget'] },
    { name: 'spend exactly at the budget is allowed', rule: { spot: 'never' }, offers: [offer(A6000, 'High', 0.79, 0.4)], ctx: { budget: { maxHourlySpend: 2 }, budgetSpend: 1.21 }, expected: ['NVIDIA RTX A6000 on-demand @0.79 cost<=0.8'] },
    { name: 'a cheaper candidate fits the budget', rule: { candidates: two }, offers: [offer(A6000, 'High', 0.79, 0.5), offer(A5000, 'High', 0.36, 0.2)], ctx: { budget: { maxHourlySpend: 2 }, budgetSpend: 1.5 }, expected: ['NVIDIA RTX A5000 on-demand @0.36 cost<=0.5'] },
    { name: 'maxSpend.day reached', offers: [offer(A6000, 'High', 0.79, 0.4)], ctx: { budget: { maxSpend: { day: 50 } }, spent: { day: 50, month: 50 } }, expected: ['rest: budget spend'] },
    { name: 'maxSpend.day not reached', rule: { spot: 'never' }, offers: [offer(A6000, 'High', 0.79, 0.4)], ctx: { budget: { maxSpend: { day: 50, month: 800 } }, spent: { day: 49.99, month: 700 } }, expected: ['NVIDIA RTX A6000 on-demand @0.79 cost<=0.8'] },
    { name: 'maxSpend.month reached on a quiet day', offers: [offer(A6000, 'High', 0.79, 0.4)], ctx: { budget: { maxSpend: { day: 50, month: 800 } }, spent: { day: 1, month: 800.5 } }, expected: ['rest: budget spend'] },
    { name: 'spot counts its bid against the budget', offers: [offer(A6000, 'High', 0.79, 0.3)], ctx: { budget: { maxHourlySpend: 1 }, budgetSpend: 0.5 }, expected: ['NVIDIA RTX A6000 spot @0.45 bid=0.45'] },
  ];

  it.each(cases)('$name', ({ rule, offers, state, ctx: extra, expected }) => {
    const decision = decideRule(ruleOf(rule ?? {}), { ...INITIAL_RULE_STATE, ...state }, ctx(offers, extra));
    expect(summary(decision)).toEqual(expected);
  });

  it('offers the on-demand way with a spot option, for when RunPod turns spot away', () => {
    const decision = decideRule(ruleOf({}), INITIAL_RULE_STATE, ctx([offer(A6000, 'High', 0.79, 0.4)]));
    expect(decision.kind === 'deploy' && decision.options[0]?.onDemand).toMatchObject({ kind: 'on-demand', deployCost: 0.8 });
  });

  it('reads the rule key at its own gpuCount and cloud', () => {
    const communityOffer = { ...offer(A6000, 'High', 0.49, 0.2), key: { gpuTypeId: A6000, gpuCount: 1, cloud: 'COMMUNITY' as const } };
    expect(summary(decideRule(ruleOf({}), INITIAL_RULE_STATE, ctx([communityOffer])))).toEqual(['exhausted', 'NVIDIA RTX A6000: no data']);
  });
});

describe('the reasons a rule is exhausted', () => {
  const skip = (gpuTypeId: string, reason: Skip['reason'], detail = 'd'): Skip => ({ candidate: 0, gpuTypeId, reason, detail });

  it('are kinds per candidate: a refusal and its retry window are one reason, prices and times are not part of it', () => {
    expect(exhaustionReasons([skip(A6000, 'retry window', 'until 10:05'), skip(A5000, 'price', 'on-demand $0.61')], [], null)).toEqual({ [A6000]: 'refused', [A5000]: 'price' });
    expect(exhaustionReasons([skip(A5000, 'price', 'on-demand $0.62')], [A6000], null)).toEqual({ [A5000]: 'price', [A6000]: 'refused' });
  });

  it('keep the last told reason for a candidate with no data this cycle', () => {
    expect(exhaustionReasons([skip(A6000, 'no data')], [], { [A6000]: 'stock' })).toEqual({ [A6000]: 'stock' });
    expect(exhaustionReasons([skip(A6000, 'no data')], [], null)).toEqual({ [A6000]: 'no data' });
  });

  it.each([
    ['nothing told yet', null, { [A6000]: 'stock' }, true],
    ['the same reasons', { [A6000]: 'stock' }, { [A6000]: 'stock' }, false],
    ['a candidate changes reason', { [A6000]: 'stock' }, { [A6000]: 'refused' }, true],
    ['a candidate more', { [A6000]: 'stock' }, { [A6000]: 'stock', [A5000]: 'price' }, true],
    ['a candidate fewer', { [A6000]: 'stock', [A5000]: 'price' }, { [A6000]: 'stock' }, true],
  ] as const)('%s: changed is %s', (_name, before, after, changed) => {
    expect(reasonsChanged(before, after)).toBe(changed);
  });
});

describe('stock words from RunPod', () => {
  it.each([
    ['High', 'High'],
    ['high', 'High'],
    ['HIGH', 'High'],
    ['Medium', 'Medium'],
    ['low', 'Low'],
    ['None', 'None'],
    ['none', 'None'],
    ['', 'None'],
    [null, 'None'],
    [undefined, 'None'],
    ['unavailable', 'None'],
    ['unrestricted', 'None'],
  ])('%j is %s', (raw, level) => {
    expect(normaliseStock(raw)).toBe(level);
  });
});

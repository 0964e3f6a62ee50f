import { configSchema, type RuleConfig } from '../../src/config/schema.js';

/** A rule as the config loader makes it (defaults applied), from the fields a test cares about. */
export function ruleOf(fields: Record<string, unknown>): RuleConfig {
  const config = configSchema.parse({
    rules: [{ name: 'trainer', cloud: 'SECURE', pod: { imageName: 'runpod/pytorch' }, candidates: [{ gpu: 'NVIDIA RTX A6000', maxPrice: 0.8, bid: 0.45 }], ...fields }],
  });
  const rule = config.rules[0];
  if (!rule) throw new Error('no rule');
  return rule;
}

import type { WatcherEvent } from '../../src/events/event.js';

/** A `pod.deployed` with every part a notifier shows (rule, gpu, pod): the notifier tests' input. */
export const DEPLOYED_EVENT: WatcherEvent = {
  id: 'evt_0123456789abcdef',
  type: 'pod.deployed',
  time: '2026-11-29T10:00:00.000Z',
  dryRun: false,
  summary: 'a6000-trainer deployed NVIDIA RTX A6000 x1 on-demand at $0.79/GPU/hr (pod abc123)',
  rule: 'a6000-trainer',
  gpu: { id: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'SECURE', stockStatus: 'High', uninterruptablePrice: 0.79, minimumBidPrice: 0.41 },
  pod: { id: 'abc123', name: 'a6000-trainer', kind: 'on-demand', costPerHr: 0.79 },
};

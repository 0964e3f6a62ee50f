import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/lib/clock.js';
import { createDaemon } from '../../src/main.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { capturedLogger } from '../helpers/capture.js';
import { CaptureServer } from '../helpers/capture-server.js';
import { daemonFor } from '../helpers/daemon.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';

let sim: RunpodSimulator;
let capture: CaptureServer;
beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
  capture = await CaptureServer.start();
});
afterEach(async () => {
  await sim.close();
  await capture.close();
});

const WEBHOOK_SECRET = 'whsec_NEVER_PRINT_THIS';
const POD_SECRET = 'hf_POD_ENV_NEVER_PRINT';

describe('notifications end to end', () => {
  it('rule events reach the rule’s notifiers, api events every notifier, and no secret reaches any of them', async () => {
    const yaml = `
notifiers:
  ops: { type: slack, url: "${capture.url('/slack')}" }
  audit: { type: webhook, url: "${capture.url('/webhook')}", secret: ${WEBHOOK_SECRET} }
rules:
  - name: trainer
    cloud: SECURE
    candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 0.80 }]
    pod: { imageName: runpod/pytorch, env: { HF_TOKEN: ${POD_SECRET} } }
    notify: [audit]
`;
    const d = daemonFor(sim, yaml);
    await d.watcher.tick();
    sim.fault({ kind: 'status', status: 502, times: 9, op: 'gpuTypes' });
    for (let i = 0; i < 3; i++) {
      d.clock.advance(30_000);
      await d.watcher.tick();
    }
    await d.dispatcher.deliverDue();
    const byPath = (path: string) => capture.accepted().filter((r) => r.path === path).map((r) => JSON.parse(r.body).type ?? JSON.parse(r.body).text);
    expect(byPath('/webhook')).toEqual(['pod.deployed', 'api.down']);
    expect(byPath('/slack')).toEqual([expect.stringContaining('RunPod API down')]);

    const everything = [JSON.stringify(capture.requests), d.logs.text(), JSON.stringify(d.store.db.prepare('SELECT * FROM events').all()), JSON.stringify(d.store.db.prepare('SELECT * FROM deliveries').all())].join('\n');
    for (const secret of [TEST_KEY, WEBHOOK_SECRET, POD_SECRET]) expect(everything).not.toContain(secret);
    // What RunPod was sent does carry the pod env: that is where it belongs.
    expect(sim.requestsFor('podFindAndDeployOnDemand')[0]?.body).toContain(POD_SECRET);
  });

  it('a slow receiver does not delay the next poll', async () => {
    capture.delayMs = 1_500;
    const config = parseConfig(
      `notifiers: { ops: { type: webhook, url: "${capture.url()}" } }\nalerts: [{ name: a6000, gpu: NVIDIA RTX A6000, cloud: SECURE, when: { stockAtLeast: Low }, notify: [ops] }]\n`,
      't',
      { RUNPOD_API_URL: sim.url },
    );
    const { logger } = capturedLogger();
    const d = createDaemon({ config, dbPath: ':memory:', apiKey: TEST_KEY, dryRun: false, clock: systemClock, logger });
    d.dispatcher.start();
    await d.watcher.tick();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(capture.requests).toHaveLength(0);
    const started = Date.now();
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    expect(Date.now() - started).toBeLessThan(500);
    await d.dispatcher.stop();
    await d.watcher.stop();
    d.store.close();
  });
});

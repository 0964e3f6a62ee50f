import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDashboardAssets } from '../../src/http/assets.js';
import { createHandler } from '../../src/http/server.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { UNKNOWN_DEPLOY_GRACE_MS } from '../../src/rules/reconcile.js';
import { daemonFor } from '../helpers/daemon.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { testMarket } from '../helpers/market.js';

const PERIOD = 30_000;
const HOUR = 3_600_000;
const YAML = `
poll: { schedule: "*/30 * * * * *" }
notifiers: { ops: { type: webhook, url: "http://127.0.0.1:9/hook" } }
rules:
  - { name: trainer, cloud: SECURE, spot: never, candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 0.80 }], pod: { imageName: runpod/pytorch }, notify: [ops] }
`;

let sim: RunpodSimulator;
afterEach(async () => {
  await sim.close();
});

const deploys = () => sim.requestsFor('podFindAndDeployOnDemand');

describe('/healthz measures the age of the last good poll on the monotonic clock', () => {
  it('turns 503 when polling stalls behind a wall clock stepped back, and stays 200 across a forward step', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const d = daemonFor(sim, YAML);
    const handler = createHandler({ daemon: d, config: d.config, clock: d.clock, dryRun: false, periodMs: PERIOD, assets: loadDashboardAssets() });
    const healthz = async () => {
      const response = await handler({ method: 'GET', url: '/healthz', headers: {} });
      return [response.status, JSON.parse(response.body).status];
    };
    expect((await d.watcher.tick())?.outcome).toBe('ok');

    // A forward step between two polls: no real time has passed, the last poll is fresh.
    d.clock.stepWall(HOUR);
    expect(await healthz()).toEqual([200, 'ok']);
    expect((await d.watcher.tick())?.outcome).toBe('ok');

    // A step back pauses node-cron's ticks for its length: no poll runs while real time passes.
    d.clock.stepWall(-HOUR);
    d.clock.advance(3 * PERIOD);
    expect(await healthz()).toEqual([200, 'ok']);
    d.clock.advance(1);
    expect(await healthz()).toEqual([503, 'stale']);
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    expect(await healthz()).toEqual([200, 'ok']);
  });
});

describe('the unknown-deploy grace is measured on the monotonic clock as well as the wall clock', () => {
  it('a wall clock jumping forward does not let the rule deploy again before 10 minutes have really passed', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'reset', op: 'podFindAndDeployOnDemand' });
    const d = daemonFor(sim, YAML);
    await d.watcher.tick();
    expect(d.store.journal.recent(1)[0]?.status).toBe('unknown');

    d.clock.stepWall(HOUR);
    await d.watcher.tick();
    d.clock.advance(UNKNOWN_DEPLOY_GRACE_MS - 1);
    await d.watcher.tick();
    expect(deploys()).toHaveLength(1);
    expect(d.store.journal.unresolved()).toHaveLength(1);

    d.clock.advance(1);
    await d.watcher.tick();
    expect(deploys()).toHaveLength(2);
    expect(sim.market.livePods()).toHaveLength(1);
  });

  it('after a restart the grace starts over on the monotonic clock, however much wall time has passed', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'reset', op: 'podFindAndDeployOnDemand' });
    const dbPath = join(await mkdtemp(join(tmpdir(), 'gw-grace-')), 'w.db');
    const first = daemonFor(sim, YAML, { dbPath });
    await first.watcher.tick();
    expect(first.store.journal.recent(1)[0]?.status).toBe('unknown');
    first.store.close();

    const restarted = daemonFor(sim, YAML, { dbPath, clock: new FakeClock(first.clock.now() + HOUR) });
    await restarted.watcher.tick();
    restarted.clock.advance(UNKNOWN_DEPLOY_GRACE_MS - 1);
    await restarted.watcher.tick();
    expect(deploys()).toHaveLength(1);

    restarted.clock.advance(1);
    await restarted.watcher.tick();
    expect(deploys()).toHaveLength(2);
    restarted.store.close();
  });
});

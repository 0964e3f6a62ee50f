import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createReloader } from '../../src/daemon/reload.js';
import { newEvent } from '../../src/events/event.js';
import { loadDashboardAssets } from '../../src/http/assets.js';
import { createHandler } from '../../src/http/server.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { capturedLogger } from '../helpers/capture.js';
import { CaptureServer } from '../helpers/capture-server.js';
import { daemonFor } from '../helpers/daemon.js';
import { testMarket } from '../helpers/market.js';
import { waitUntil } from '../helpers/wait.js';

const H100 = 'NVIDIA H100 80GB HBM3';
const A6000 = 'NVIDIA RTX A6000';

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

/** A daemon on `yaml`, and a reloader whose file holds whatever `file.text` is set to. */
function reloadable(yaml: string, options: { metrics?: boolean } = {}) {
  const d = daemonFor(sim, yaml, options);
  const file = { text: yaml };
  const env = { RUNPOD_API_URL: sim.url, RUNPOD_REST_URL: sim.restUrl };
  const { logger, logs } = capturedLogger();
  const reload = createReloader({ daemon: d, load: async () => parseConfig(file.text, 'test.yaml', env), logger, now: () => d.clock.now() });
  return { d, file, reload, logs };
}

const rule = (candidates: string, extra = ''): string => `rules:\n  - { name: trainer, cloud: SECURE, spot: never, ${extra}candidates: [${candidates}], pod: { imageName: i } }\n`;
const told = (d: ReturnType<typeof daemonFor>, type: string): number => d.events().filter((e) => e.type === type).length;

describe('reloading the config into a running daemon', () => {
  it("keeps a rule's state while its name and candidates stay the same, and starts it afresh when they change", async () => {
    const { d, file, reload } = reloadable(rule(`{ gpu: ${H100}, maxPrice: 5 }`));
    await d.watcher.tick();
    expect(told(d, 'rule.exhausted')).toBe(1);

    file.text = rule(`{ gpu: ${H100}, maxPrice: 5 }`, 'maxPods: 2, ');
    expect(await reload()).toMatchObject({ applied: true, summary: 'rules: ~trainer' });
    d.clock.advance(30_000);
    await d.watcher.tick();
    expect(told(d, 'rule.exhausted')).toBe(1);

    file.text = rule(`{ gpu: ${H100}, maxPrice: 6 }`, 'maxPods: 2, ');
    await reload();
    d.clock.advance(30_000);
    await d.watcher.tick();
    expect(told(d, 'rule.exhausted')).toBe(2);
    d.store.close();
  });

  it("keeps an alert's state when only who hears of it changes, and starts it quiet when its conditions change", async () => {
    const alert = (when: string, extra = '') => `notifiers: { a: { type: webhook, url: "${capture.url()}" } }\nalerts: [{ name: back, gpu: ${A6000}, cloud: SECURE, when: { ${when} }${extra} }]\n`;
    const { d, file, reload } = reloadable(alert('stockAtLeast: Low'));
    await d.watcher.tick();
    const firing = (): boolean | undefined => d.store.states('alert').get('back')?.firing;
    expect(firing()).toBe(true);
    file.text = alert('stockAtLeast: Low', ', notify: [a]');
    await reload();
    expect(firing()).toBe(true);
    file.text = alert('stockAtLeast: High', ', notify: [a]');
    await reload();
    expect(firing()).toBe(false);
    d.store.close();
  });

  it('applies between cycles: a cycle in flight finishes on the config it started with', async () => {
    const { d, file, reload } = reloadable(`watch: [{ gpu: ${H100}, cloud: SECURE }]\n`);
    sim.fault({ kind: 'hold', at: 'before', op: 'gpuTypes' });
    const cycle = d.watcher.tick();
    await waitUntil(() => sim.holding === 1);
    file.text = `watch: [{ gpu: ${H100}, cloud: SECURE }, { gpu: ${A6000}, cloud: SECURE }]\n`;
    let done = false;
    const reloaded = reload().then((r) => {
      done = true;
      return r;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toBe(false);
    expect(d.currentConfig().watch).toHaveLength(1);
    sim.release();
    expect((await cycle)?.offers).toBe(1);
    expect(await reloaded).toMatchObject({ applied: true, summary: `watch: +${A6000} x1 SECURE` });
    d.clock.advance(30_000);
    expect((await d.watcher.tick())?.offers).toBe(2);
    d.store.close();
  });

  it('refuses an invalid file with every problem, keeps the running config and tells nothing', async () => {
    const { d, file, reload, logs } = reloadable(rule(`{ gpu: ${H100}, maxPrice: 5 }`));
    file.text = `${rule(`{ gpu: ${H100}, maxPirce: 5 }`)}poll: { schedule: nope }\n`;
    const result = await reload();
    expect(result.applied).toBe(false);
    expect(result.applied === false && result.problems).toEqual(
      expect.arrayContaining([
        'rules[0].candidates[0].maxPirce: unknown key (did you mean "maxPrice"?)',
        expect.stringMatching(/^poll\.schedule: is not a valid cron expression/),
      ]),
    );
    expect(logs.text()).toContain('config reload refused, the running config is kept: ');
    expect(d.currentConfig().rules[0]?.candidates[0]?.maxPrice).toBe(5);
    expect(told(d, 'config.reloaded')).toBe(0);
    d.store.close();
  });

  it('refuses a rule that mounts a network volume the daemon did not read at start, naming it', async () => {
    const { d, file, reload } = reloadable(rule(`{ gpu: ${H100}, maxPrice: 5 }`));
    file.text = `rules:\n  - { name: trainer, cloud: SECURE, spot: never, candidates: [{ gpu: ${H100}, maxPrice: 5 }], pod: { imageName: i, networkVolumeId: vol_new } }\n`;
    expect(await reload()).toEqual({
      applied: false,
      problems: ['rules[0].pod.networkVolumeId: volume "vol_new" was not read from RunPod at start; restart the daemon to use it'],
    });
    expect(d.currentConfig().rules[0]?.pod.networkVolumeId).toBeUndefined();
    d.store.close();
  });

  it('keeps settings that need a restart, says which, and applies the rest', async () => {
    const { d, file, reload, logs } = reloadable(`poll: { schedule: "*/30 * * * * *" }\nwatch: [{ gpu: ${H100} }]\n`);
    file.text = `poll: { schedule: "*/5 * * * * *" }\nbudget: { maxPods: 1 }\nwatch: [{ gpu: ${H100} }]\n`;
    expect(await reload()).toMatchObject({ applied: true, summary: 'changed: budget' });
    expect(d.currentConfig().poll.schedule).toBe('*/30 * * * * *');
    expect(d.currentConfig().budget).toEqual({ maxPods: 1 });
    expect(logs.text()).toContain('config reload: poll changed but need a restart; still running with the old values');
    const event = d.events().find((e) => e.type === 'config.reloaded');
    expect(event?.details).toMatchObject({ settings: ['budget'], needRestart: ['poll'] });
    d.store.close();
  });

  it("routes the events that come after a reload by the reloaded notifiers' events and minSeverity", async () => {
    const hook = (routing: string): string => `notifiers: { hook: { type: webhook, url: "http://127.0.0.1:9/hook"${routing} } }\nwatch: [{ gpu: ${H100} }]\n`;
    const { d, file, reload } = reloadable(hook(''));
    const warning = (): void => d.store.outbox.append(newEvent({ type: 'spot.unavailable', summary: 'spot is gone' }, d.clock.now()), ['hook']);
    warning();
    expect(d.store.outbox.depth().pending).toBe(1);
    file.text = hook(', minSeverity: critical');
    expect(await reload()).toMatchObject({ applied: true });
    // Neither config.reloaded (info) nor a warning reaches a notifier that now takes only critical events.
    warning();
    expect(d.store.outbox.depth().pending).toBe(1);
    d.store.close();
  });

  it("shows the reloaded config's rules and alerts in /metrics", async () => {
    const alert = (name: string): string => `alerts: [{ name: ${name}, gpu: ${A6000}, cloud: SECURE, when: { stockAtLeast: Low } }]\n`;
    const { d, file, reload } = reloadable(alert('before'), { metrics: true });
    const firing = async (): Promise<string> => (await d.metrics?.registry.getSingleMetricAsString('gpuwatch_alert_firing')) ?? '';
    expect(await firing()).toContain('gpuwatch_alert_firing{alert="before"} 0');
    file.text = alert('after');
    expect(await reload()).toMatchObject({ applied: true });
    expect(await firing()).toContain('gpuwatch_alert_firing{alert="after"} 0');
    expect(await firing()).not.toContain('alert="before"');
    d.store.close();
  });

  it("tells api.switched, which the RunPod client raises, to the reloaded config's notifiers", async () => {
    await sim.close();
    sim = await RunpodSimulator.start(testMarket({ steps: [{ note: 'sunset', retire: 'graphql' }] }));
    const hook = (name: string): string => `api: { source: auto }\nnotifiers: { ${name}: { type: webhook, url: "http://127.0.0.1:9/${name}" } }\nwatch: [{ gpu: ${A6000}, cloud: SECURE }]\n`;
    const { d, file, reload } = reloadable(hook('before'));
    await d.watcher.tick();
    file.text = hook('after');
    expect(await reload()).toMatchObject({ applied: true });
    sim.advance();
    d.clock.advance(30_000);
    await d.watcher.tick();
    expect(d.api.source).toBe('rest');
    expect(d.store.outbox.undelivered(50).filter((u) => u.type === 'api.switched').map((u) => u.notifier)).toEqual(['after']);
    d.store.close();
  });

  it("delivers what was queued for a notifier to its new address, and tells config.reloaded to the new config's notifiers", async () => {
    const hook = (url: string): string => `notifiers: { hook: { type: webhook, url: "${url}" } }\n`;
    const alert = `alerts: [{ name: back, gpu: ${A6000}, cloud: SECURE, when: { stockAtLeast: Low }, notify: [hook] }]\n`;
    const { d, file, reload } = reloadable(hook('http://127.0.0.1:9/gone') + alert);
    await d.watcher.tick(); // alert.fired, queued for a receiver that is not there
    expect(told(d, 'alert.fired')).toBe(1);
    file.text = hook(capture.url('/hook')) + alert;
    expect(await reload()).toMatchObject({ summary: 'notifiers: ~hook' });
    await d.dispatcher.deliverDue();
    await waitUntil(() => capture.requests.length === 2, { what: 'both deliveries' });
    expect(capture.requests.map((r) => JSON.parse(r.body).type)).toEqual(['alert.fired', 'config.reloaded']);
    d.store.close();
  });

  it('POST /api/reload needs the token, answers what changed, or 422 with every problem', async () => {
    const yaml = (extra: string) => `http: { listen: "127.0.0.1:9464", token: s3cret }\nwatch: [{ gpu: ${H100} }]\n${extra}`;
    const { d, file, reload } = reloadable(yaml(''));
    const handler = createHandler({ daemon: d, config: d.config, clock: d.clock, dryRun: false, periodMs: 30_000, assets: loadDashboardAssets(), reload });
    const headers = { host: '127.0.0.1:9464', authorization: 'Bearer s3cret' };
    const post = (h: Record<string, string>) => handler({ method: 'POST', url: '/api/reload', headers: h });
    expect((await post({ host: headers.host })).status).toBe(401);
    expect((await handler({ method: 'GET', url: '/api/reload', headers })).status).toBe(405);
    file.text = yaml(`watch: [{ gpu: ${A6000} }]\n`).replace(`watch: [{ gpu: ${H100} }]\n`, '');
    const ok = await post(headers);
    expect([ok.status, JSON.parse(ok.body)]).toEqual([200, { reloaded: true, changes: `watch: +${A6000} x1 ALL, -${H100} x1 ALL` }]);
    file.text = yaml('budget: { maxPodz: 1 }\n');
    const refused = await post(headers);
    expect(refused.status).toBe(422);
    expect(JSON.parse(refused.body).problems).toContain('budget.maxPodz: unknown key (did you mean "maxPods"?)');

    const open = reloadable(`watch: [{ gpu: ${H100} }]\n`);
    const noToken = createHandler({ daemon: open.d, config: open.d.config, clock: open.d.clock, dryRun: false, periodMs: 30_000, assets: loadDashboardAssets(), reload: open.reload });
    expect((await noToken({ method: 'POST', url: '/api/reload', headers: { host: '127.0.0.1' } })).status).toBe(403);
    d.store.close();
    open.d.store.close();
  });
});

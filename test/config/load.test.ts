import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { watchedKeys } from '../../src/config/watched-keys.js';
import { runCli } from '../../src/commands/program.js';
import { testIo } from '../helpers/capture.js';

const RULE = `
rules:
  - name: trainer
    candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 0.8 }]
    pod: { imageName: runpod/pytorch }
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-config-'));
});

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(text, 'test.yaml', env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected the config to be refused');
}

describe('the example config', () => {
  it('is valid and names what it watches', async () => {
    const config = await loadConfig('config/watcher.example.yaml', {}, { required: true });
    expect(config.rules[0]).toMatchObject({ name: 'a6000-trainer', retryAfter: 300_000, maxDeploys: 1, spot: 'prefer' });
    expect(config.poll).toEqual({ schedule: '*/30 * * * * *', timeout: 10_000 });
    expect(watchedKeys(config).map((k) => [k.key.gpuTypeId, k.sources])).toEqual([
      ['NVIDIA H100 80GB HBM3', ['watch', 'alert h100-back']],
      ['NVIDIA RTX A6000', ['rule a6000-trainer']],
      ['NVIDIA RTX A5000', ['rule a6000-trainer']],
    ]);
  });

  it('passes `check`, exit 0', async () => {
    const io = testIo({});
    expect(await runCli(['check', '-c', 'config/watcher.example.yaml'], io)).toBe(0);
    expect(io.out.text()).toContain('config/watcher.example.yaml: OK');
    expect(io.out.text()).toContain('rule a6000-trainer');
    expect(io.err.text()).toBe('');
  });

  it('the demo config is valid too', async () => {
    await expect(loadConfig('config/demo.yaml', {}, { required: true })).resolves.toBeDefined();
  });
});

describe('defaults and environment', () => {
  it('applies the contract defaults to a minimal file', () => {
    const config = parseConfig(RULE, 't', {});
    expect(config.rules[0]).toMatchObject({ gpuCount: 1, cloud: 'ALL', minStock: 'Medium', spot: 'prefer', maxPods: 1, retryAfter: 300_000, notify: [] });
    expect(config.rules[0]?.maxDeploys).toBeUndefined();
    expect(config.store).toEqual({ path: 'data/gpu-watcher.db', retention: 90 * 86_400_000 });
    expect(config.api.url).toBe('https://api.runpod.io/graphql');
    expect(config.http).toBeUndefined();
  });

  it('expands ${VAR}, ${VAR:-default} and $${, numbers included', () => {
    const text = `${RULE}
    gpuCount: \${COUNT}
    pod: { imageName: "\${IMAGE:-runpod/base}", env: { A: "\${SECRET}", B: "$\${LITERAL}", C: "\${EMPTY:-fallback}" } }
`.replace(/\n    pod: \{ imageName: runpod\/pytorch \}\n/, '\n');
    const config = parseConfig(text, 't', { COUNT: '2', SECRET: 's3cret', EMPTY: '' });
    expect(config.rules[0]?.gpuCount).toBe(2);
    expect(config.rules[0]?.pod).toEqual({ imageName: 'runpod/base', env: { A: 's3cret', B: '${LITERAL}', C: 'fallback' } });
  });

  it('lets RUNPOD_API_URL and GPU_WATCHER_DB override the file', () => {
    const config = parseConfig('api: { url: https://a.example/graphql }\nstore: { path: x.db }', 't', { RUNPOD_API_URL: 'http://127.0.0.1:1/graphql', GPU_WATCHER_DB: '/tmp/y.db' });
    expect([config.api.url, config.store.path]).toEqual(['http://127.0.0.1:1/graphql', '/tmp/y.db']);
  });

  it('uses the defaults when the default file is absent, but refuses a named file that is absent', async () => {
    await expect(loadConfig(join(dir, 'none.yaml'), {}, { required: false })).resolves.toMatchObject({ rules: [] });
    await expect(loadConfig(join(dir, 'none.yaml'), {}, { required: true })).rejects.toThrow(/none\.yaml: file not found/);
  });

  it('reports every problem at once', () => {
    const issues = issuesOf(`poll: { timeout: soon }\nrules:\n  - name: r\n    candidates: []\n    pod: {}\n    notify: [ghost]\n`);
    expect(issues).toEqual([
      'rules[0].notify[0]: no notifier named "ghost" (no notifiers are defined)',
      'poll.timeout: "soon" is not a duration like 30s, 5m, 2h or 7d',
      'rules[0].candidates: needs at least one candidate',
      'rules[0].pod: needs imageName or templateId',
    ]);
  });
});

// Each malformed config, the path its problem is reported at, and a piece of the message.
const malformed: [name: string, yaml: string, path: string, message: string][] = [
  ['unknown top-level key', 'polls: {}', 'polls', 'unknown key'],
  ['unknown nested key', 'poll: { every: 5s }', 'poll.every', 'unknown key'],
  ['bad cron', 'poll: { schedule: "every minute" }', 'poll.schedule', 'not a valid cron expression'],
  ['bad duration', 'poll: { timeout: 10 }', 'poll.timeout', 'expected string'],
  ['bad duration unit', 'store: { retention: 3w }', 'store.retention', 'not a duration'],
  ['api url not a URL', 'api: { url: runpod }', 'api.url', 'must be an http(s) URL'],
  ['api key in the URL', 'api: { url: "https://api.runpod.io/graphql?api_key=rpa_x" }', 'api.url', 'must not hold the API key'],
  ['http listen without port', 'http: { listen: localhost }', 'http.listen', 'HOST:PORT'],
  ['watch without gpu', 'watch: [{ gpuCount: 1 }]', 'watch[0].gpu', 'is required'],
  ['watch bad cloud', 'watch: [{ gpu: X, cloud: secure }]', 'watch[0].cloud', 'must be one of SECURE, COMMUNITY, ALL'],
  ['watch zero gpus', 'watch: [{ gpu: X, gpuCount: 0 }]', 'watch[0].gpuCount', 'at least 1'],
  ['notifier bad type', 'notifiers: { ops: { type: email, url: "https://x" } }', 'notifiers.ops.type', 'must be one of slack, webhook'],
  ['notifier bad url', 'notifiers: { ops: { type: slack, url: hooks } }', 'notifiers.ops.url', 'must be an http(s) URL'],
  ['notifier unknown key', 'notifiers: { ops: { type: webhook, url: "https://x", sekret: y } }', 'notifiers.ops.sekret', 'unknown key'],
  ['unset env variable', 'notifiers: { ops: { type: slack, url: "${SLACK_URL_UNSET}" } }', 'notifiers.ops.url', 'SLACK_URL_UNSET is not set'],
  ['alert without conditions', 'alerts: [{ name: a, gpu: X, when: {} }]', 'alerts[0].when', 'needs at least one of'],
  ['alert bad stock word', 'alerts: [{ name: a, gpu: X, when: { stockAtLeast: Lots } }]', 'alerts[0].when.stockAtLeast', 'must be Low, Medium or High'],
  ['alert negative price', 'alerts: [{ name: a, gpu: X, when: { maxPrice: -2 } }]', 'alerts[0].when.maxPrice', 'price above 0'],
  ['alert for zero', 'alerts: [{ name: a, gpu: X, when: { maxPrice: 2 }, for: 0 }]', 'alerts[0].for', 'at least 1'],
  ['alert notifies a ghost', 'alerts: [{ name: a, gpu: X, when: { maxPrice: 2 }, notify: [pager] }]', 'alerts[0].notify[0]', 'no notifier named "pager"'],
  ['rule without candidates', 'rules: [{ name: r, candidates: [], pod: { imageName: i } }]', 'rules[0].candidates', 'at least one candidate'],
  ['candidate without prices', 'rules: [{ name: r, candidates: [{ gpu: X }], pod: { imageName: i } }]', 'rules[0].candidates[0]', 'needs maxPrice, bid, or both'],
  ['spot only without bid', 'rules: [{ name: r, spot: only, candidates: [{ gpu: X, maxPrice: 1 }], pod: { imageName: i } }]', 'rules[0].candidates[0].bid', 'spot is "only"'],
  ['spot never without maxPrice', 'rules: [{ name: r, spot: never, candidates: [{ gpu: X, bid: 1 }], pod: { imageName: i } }]', 'rules[0].candidates[0].maxPrice', 'spot is "never"'],
  ['bad spot word', 'rules: [{ name: r, spot: maybe, candidates: [{ gpu: X, bid: 1 }], pod: { imageName: i } }]', 'rules[0].spot', 'prefer, only or never'],
  ['bad minStock', 'rules: [{ name: r, minStock: None, candidates: [{ gpu: X, bid: 1 }], pod: { imageName: i } }]', 'rules[0].minStock', 'must be Low, Medium or High'],
  ['pod without image', 'rules: [{ name: r, candidates: [{ gpu: X, bid: 1 }], pod: { volumeInGb: 10 } }]', 'rules[0].pod', 'needs imageName or templateId'],
  ['pod sets watcher env', 'rules: [{ name: r, candidates: [{ gpu: X, bid: 1 }], pod: { imageName: i, env: { GPU_WATCHER_RULE: x } } }]', 'rules[0].pod.env', 'set by the watcher'],
  ['pod unknown key', 'rules: [{ name: r, candidates: [{ gpu: X, bid: 1 }], pod: { imageName: i, gpuType: X } }]', 'rules[0].pod.gpuType', 'unknown key'],
  ['rule without pod', 'rules: [{ name: r, candidates: [{ gpu: X, bid: 1 }] }]', 'rules[0].pod', 'is required'],
  ['retryAfter not a duration', 'rules: [{ name: r, retryAfter: later, candidates: [{ gpu: X, bid: 1 }], pod: { imageName: i } }]', 'rules[0].retryAfter', 'not a duration'],
  ['duplicate names across sections', 'alerts: [{ name: same, gpu: X, when: { maxPrice: 1 } }]\nresume: [{ name: same, podId: p }]', 'resume[0].name', 'already the name of alerts[0]'],
  ['name with spaces', 'resume: [{ name: my pod, podId: p }]', 'resume[0].name', 'use letters, digits'],
  ['resume without podId', 'resume: [{ name: r }]', 'resume[0].podId', 'is required'],
  ['empty budget', 'budget: {}', 'budget', 'needs maxPods, maxHourlySpend, or both'],
  ['budget negative spend', 'budget: { maxHourlySpend: -1 }', 'budget.maxHourlySpend', 'price above 0'],
  ['not a mapping', '- just\n- a list', 'test.yaml', 'must be a YAML mapping'],
  ['broken YAML', 'poll: { schedule: "x"', 'test.yaml:1', 'invalid YAML'],
];

describe('malformed configs', () => {
  it('covers at least 25 cases', () => {
    expect(malformed.length).toBeGreaterThanOrEqual(25);
  });

  it.each(malformed)('%s → %s', (_name, yaml, path, message) => {
    const issues = issuesOf(yaml);
    expect(issues.find((i) => i.startsWith(`${path}`) && i.includes(message)), issues.join('\n')).toBeDefined();
  });

  it.each(malformed)('`check` exits 78 for: %s', async (name, yaml, path, message) => {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
    await writeFile(file, yaml);
    const io = testIo({});
    expect(await runCli(['check', '-c', file], io)).toBe(78);
    const expectedPath = path.startsWith('test.yaml') ? path.replace('test.yaml', file) : path;
    expect(io.err.text()).toContain(expectedPath);
    expect(io.err.text()).toContain(message);
    expect(io.err.text()).not.toMatch(/\n\s+at /);
    expect(io.out.text()).toBe('');
  });
});

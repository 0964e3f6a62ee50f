import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { watchedKeys } from '../../src/config/watched-keys.js';
import { describeConfig } from '../../src/config/describe.js';
import { runCli } from '../../src/commands/program.js';
import { testIo } from '../helpers/capture.js';
import { exited, spawnTs } from '../helpers/child.js';

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

  it('passes `check`, exit 0, with a warning for each placeholder left to fill in', async () => {
    const io = testIo({});
    expect(await runCli(['check', '-c', 'config/watcher.example.yaml'], io)).toBe(0);
    expect(io.out.text()).toContain('config/watcher.example.yaml: OK');
    expect(io.out.text()).toContain('rule a6000-trainer');
    expect(io.err.text().split('\n')).toEqual([
      'warning: notifiers.ops.url: "XXXXXXXX" looks like a placeholder from an example: put the real value in',
      'warning: notifiers.audit.url: "example.com" looks like a placeholder from an example: put the real value in',
      'warning: rules[0].pod.env.JUPYTER_PASSWORD: "change-me" looks like a placeholder from an example: put the real value in',
      '',
    ]);
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
    expect(config.store).toEqual({ path: resolve('data/gpu-watcher.db'), retention: 90 * 86_400_000 });
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

  it('lets GPU_WATCHER_HTTP choose where to listen, with or without an http section, and refuses one that is not HOST:PORT', () => {
    expect(parseConfig('watch: []', 't', { GPU_WATCHER_HTTP: '0.0.0.0:9464' }).http).toEqual({ listen: '0.0.0.0:9464', token: '', allowedHosts: [] });
    const withSection = parseConfig('http: { listen: "127.0.0.1:1234", token: t0k, allowedHosts: [w.internal] }', 't', { GPU_WATCHER_HTTP: '0.0.0.0:80' });
    expect(withSection.http).toEqual({ listen: '0.0.0.0:80', token: 't0k', allowedHosts: ['w.internal'] });
    expect(parseConfig('watch: []', 't', {}).http).toBeUndefined();
    try {
      parseConfig('watch: []', 't', { GPU_WATCHER_HTTP: '9464' });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).issues).toEqual([{ path: 'GPU_WATCHER_HTTP', message: 'must be HOST:PORT, e.g. 127.0.0.1:9464' }]);
    }
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
  ['notifier bad type', 'notifiers: { ops: { type: carrier-pigeon, url: "https://x" } }', 'notifiers.ops.type', 'must be one of slack, webhook, discord, telegram, ntfy, email, pagerduty, teams'],
  ['notifier bad url', 'notifiers: { ops: { type: slack, url: hooks } }', 'notifiers.ops.url', 'must be an http(s) URL'],
  ['notifier unknown key', 'notifiers: { ops: { type: webhook, url: "https://x", sekret: y } }', 'notifiers.ops.sekret', 'unknown key'],
  ['events glob matching no type', 'notifiers: { ops: { type: slack, url: "https://x", events: [pods.*] } }', 'notifiers.ops.events[0]', '"pods.*" matches no event type (the types are listed in docs/events.md)'],
  ['events glob with a bad character', 'notifiers: { ops: { type: slack, url: "https://x", events: ["pod/*"] } }', 'notifiers.ops.events[0]', 'is not an event type glob'],
  ['events empty', 'notifiers: { ops: { type: slack, url: "https://x", events: [] } }', 'notifiers.ops.events', 'at least one event type glob'],
  ['minSeverity unknown', 'notifiers: { ops: { type: slack, url: "https://x", minSeverity: high } }', 'notifiers.ops.minSeverity', 'must be one of info, warning, critical'],
  ['telegram without token', 'notifiers: { tg: { type: telegram, chatId: 42 } }', 'notifiers.tg.botToken', 'is required'],
  ['ntfy url without topic', 'notifiers: { push: { type: ntfy, url: "https://ntfy.sh/" } }', 'notifiers.push.url', 'must be the topic URL'],
  ['email user without password', 'notifiers: { mail: { type: email, host: smtp.example.com, from: a@example.com, to: [b@example.com], user: a } }', 'notifiers.mail.password', 'user and password go together'],
  ['email bad recipient', 'notifiers: { mail: { type: email, host: smtp.example.com, from: a@example.com, to: [nobody] } }', 'notifiers.mail.to[0]', 'must be an e-mail address'],
  ['email ca unreadable', 'notifiers: { mail: { type: email, host: smtp.example.com, from: a@example.com, to: [b@example.com], ca: no-such-ca.pem } }', 'notifiers.mail.ca', 'cannot read '],
  ['pagerduty without routing key', 'notifiers: { pager: { type: pagerduty } }', 'notifiers.pager.routingKey', 'is required'],
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
  ['empty budget', 'budget: {}', 'budget', 'needs maxPods, maxHourlySpend, maxSpend, or some of them'],
  ['empty maxSpend', 'budget: { maxSpend: {} }', 'budget.maxSpend', 'needs day, month, or both'],
  ['budget negative spend', 'budget: { maxHourlySpend: -1 }', 'budget.maxHourlySpend', 'price above 0'],
  ['timeout above 10 min', 'poll: { timeout: 11m }', 'poll.timeout', '11m is longer than 10m, the longest timeout'],
  ['zero timeout', 'poll: { timeout: 0s }', 'poll.timeout', 'not a duration'],
  ['retention above a year', 'store: { retention: 366d }', 'store.retention', '366d is longer than 365d, the longest window'],
  ['retention too large to count', 'store: { retention: 99999999999999999999d }', 'store.retention', 'not a duration'],
  ['retryAfter above a year', 'rules: [{ name: r, retryAfter: 9000h, candidates: [{ gpu: X, bid: 1 }], pod: { imageName: i } }]', 'rules[0].retryAfter', 'longer than 365d'],
  ['alert repeat above a year', 'alerts: [{ name: a, gpu: X, when: { maxPrice: 2 }, repeat: 400d }]', 'alerts[0].repeat', 'longer than 365d'],
  ['watch gpuCount above 32', 'watch: [{ gpu: X, gpuCount: 33 }]', 'watch[0].gpuCount', 'must be at most 32'],
  ['alert gpuCount above 32', 'alerts: [{ name: a, gpu: X, gpuCount: 64, when: { maxPrice: 2 } }]', 'alerts[0].gpuCount', 'must be at most 32'],
  ['rule gpuCount above 32', 'rules: [{ name: r, gpuCount: 33, candidates: [{ gpu: X, bid: 1 }], pod: { imageName: i } }]', 'rules[0].gpuCount', 'must be at most 32'],
  ['resume gpuCount above 32', 'resume: [{ name: r, podId: p, gpuCount: 100 }]', 'resume[0].gpuCount', 'must be at most 32'],
  ['maxPods beyond a GraphQL Int', 'rules: [{ name: r, maxPods: 2147483648, candidates: [{ gpu: X, bid: 1 }], pod: { imageName: i } }]', 'rules[0].maxPods', 'must be at most 2147483647'],
  ['maxDeploys beyond a GraphQL Int', 'rules: [{ name: r, maxDeploys: 1e12, candidates: [{ gpu: X, bid: 1 }], pod: { imageName: i } }]', 'rules[0].maxDeploys', 'must be at most 2147483647'],
  ['alert for beyond a GraphQL Int', 'alerts: [{ name: a, gpu: X, when: { maxPrice: 2 }, for: 9999999999 }]', 'alerts[0].for', 'must be at most 2147483647'],
  ['budget maxPods beyond a GraphQL Int', 'budget: { maxPods: 2147483648 }', 'budget.maxPods', 'must be at most 2147483647'],
  ['containerDiskInGb beyond a GraphQL Int', 'rules: [{ name: r, candidates: [{ gpu: X, bid: 1 }], pod: { imageName: i, containerDiskInGb: 2147483648 } }]', 'rules[0].pod.containerDiskInGb', 'must be at most 2147483647'],
  ['volumeInGb beyond a GraphQL Int', 'rules: [{ name: r, candidates: [{ gpu: X, bid: 1 }], pod: { imageName: i, volumeInGb: 3000000000 } }]', 'rules[0].pod.volumeInGb', 'must be at most 2147483647'],
  ['minVcpuCount beyond a GraphQL Int', 'rules: [{ name: r, candidates: [{ gpu: X, bid: 1 }], pod: { imageName: i, minVcpuCount: 2147483648 } }]', 'rules[0].pod.minVcpuCount', 'must be at most 2147483647'],
  ['minMemoryInGb beyond a GraphQL Int', 'rules: [{ name: r, candidates: [{ gpu: X, bid: 1 }], pod: { imageName: i, minMemoryInGb: 2147483648 } }]', 'rules[0].pod.minMemoryInGb', 'must be at most 2147483647'],
  ['listen port above 65535', 'http: { listen: "127.0.0.1:70000" }', 'http.listen', 'port from 1 to 65535'],
  ['listen port 0', 'http: { listen: "0.0.0.0:0" }', 'http.listen', 'port from 1 to 65535'],
  ['allowedHosts entry with a space', 'http: { allowedHosts: [ok.example, "bad host"] }', 'http.allowedHosts[1]', 'must be a host name or address'],
  ['allowedHosts entry with port 0', 'http: { allowedHosts: ["watcher.internal:0"] }', 'http.allowedHosts[0]', 'must be a host name or address'],
  ['header value with CR LF', 'notifiers: { ops: { type: webhook, url: "https://x", headers: { X-Team: "ml\\r\\nX-Injected: 1" } } }', 'notifiers.ops.headers.X-Team', 'must not contain a line break'],
  ['header value with LF', 'notifiers: { ops: { type: webhook, url: "https://x", headers: { X-Team: "ml\\nx" } } }', 'notifiers.ops.headers.X-Team', 'must not contain a line break'],
  ['header name not a token', 'notifiers: { ops: { type: webhook, url: "https://x", headers: { "X Team:": ml } } }', 'notifiers.ops.headers.X Team:', 'not a valid HTTP header name'],
  ['candidate maxPrice above the ceiling', 'rules: [{ name: r, candidates: [{ gpu: X, maxPrice: 1 }, { gpu: Y, maxPrice: 250 }], pod: { imageName: i } }]', 'rules[0].candidates[1].maxPrice', '$250 is above the $100/GPU/hr sanity ceiling'],
  ['candidate bid above the ceiling', 'rules: [{ name: r, candidates: [{ gpu: X, bid: 100.01 }], pod: { imageName: i } }]', 'rules[0].candidates[0].bid', '$100.01 is above the $100/GPU/hr sanity ceiling'],
  ['alert maxPrice above the ceiling', 'alerts: [{ name: a, gpu: X, when: { maxPrice: 350 } }]', 'alerts[0].when.maxPrice', '$350 is above the $100/GPU/hr sanity ceiling'],
  ['alert maxBid above the ceiling', 'alerts: [{ name: a, gpu: X, when: { maxBid: 101 } }]', 'alerts[0].when.maxBid', '$101 is above the $100/GPU/hr sanity ceiling'],
  ['resume bid above the ceiling', 'resume: [{ name: r, podId: p, bid: 1000 }]', 'resume[0].bid', '$1000 is above the $100/GPU/hr sanity ceiling'],
  ['budget spend above the ceiling', 'budget: { maxHourlySpend: 10001 }', 'budget.maxHourlySpend', '$10001 is above the $10000/hr sanity ceiling'],
  ['hungry too fast for the request cap', 'poll: { hungry: 4s }', 'poll.hungry', '4s would use more than 80% of api.maxRequestsPerMinute (30) at 2 requests a cycle, leaving too little for deploys: use 5s or more'],
  ['hungry too fast for a lowered cap', 'poll: { hungry: 10s }\napi: { maxRequestsPerMinute: 12 }', 'poll.hungry', 'use 13s or more, or raise the cap'],
  ['hungry not faster than the schedule', 'poll: { schedule: "*/30 * * * * *", hungry: 30s }', 'poll.hungry', "30s is not shorter than the schedule's period (30s)"],
  ['idle not slower than the schedule', 'poll: { schedule: "0 * * * * *", idle: 45s }', 'poll.idle', "45s is not longer than the schedule's period (1m)"],
  ['idle above an hour', 'poll: { idle: 2h }', 'poll.idle', 'is longer than 1h'],
  ['hungry not a duration', 'poll: { hungry: fast }', 'poll.hungry', 'is not a duration'],
  ['request cap of 0', 'api: { maxRequestsPerMinute: 0 }', 'api.maxRequestsPerMinute', 'must be at least 1'],
  ['request cap above 600', 'api: { maxRequestsPerMinute: 1000 }', 'api.maxRequestsPerMinute', 'must be at most 600'],
  ['unknown local tag', 'poll: { schedule: !foo "x" }', 'test.yaml:1:19', 'unknown YAML tag !foo'],
  ['JavaScript function tag', 'poll:\n  schedule: !!js/function "function () { return 1 }"', 'test.yaml:2:13', 'unknown YAML tag !!js/function'],
  ['binary tag', 'watch: [{ gpu: !!binary aGk= }]', 'test.yaml:1:16', 'unknown YAML tag !!binary'],
  ['tagged mapping', 'budget: !ruby/object { maxPods: 1 }', 'test.yaml:1:9', 'unknown YAML tag !ruby/object'],
  ['a value of 100 kB', `watch: [{ gpu: "${'x'.repeat(100_000)}" }]`, 'watch[0].gpu', 'is 100000 characters long, above the 65536 a value may be'],
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

describe('limits a config cannot pass', () => {
  it('accepts every value at its limit', () => {
    const config = parseConfig(
      `
poll: { timeout: 10m }
store: { retention: 365d }
http: { listen: "0.0.0.0:65535", allowedHosts: [watcher.internal, "10.0.0.5:9464", "[::1]:80", gpu-box.] }
notifiers: { ops: { type: webhook, url: "https://x", headers: { X-Team: "ml; tabs\\tare fine", "X-A_b.c~!": !!str 5 } } }
alerts: [{ name: a, gpu: X, gpuCount: 32, when: { maxPrice: 100, maxBid: 100 }, for: 2147483647, repeat: 8760h }]
rules:
  - name: r
    gpuCount: 32
    maxPods: 2147483647
    maxDeploys: 2147483647
    retryAfter: 365d
    candidates: [{ gpu: X, maxPrice: 100, bid: 100 }]
    pod: { imageName: i, containerDiskInGb: 2147483647, volumeInGb: 0, minVcpuCount: 2147483647, minMemoryInGb: 2147483647 }
resume: [{ name: p, podId: p, gpuCount: 32, bid: 100 }]
budget: { maxPods: 2147483647, maxHourlySpend: 10000 }
`,
      't',
      {},
    );
    expect([config.poll.timeout, config.store.retention, config.rules[0]?.retryAfter, config.alerts[0]?.repeat]).toEqual([600_000, 31_536_000_000, 31_536_000_000, 31_536_000_000]);
    expect(config.http?.allowedHosts).toEqual(['watcher.internal', '10.0.0.5:9464', '[::1]:80', 'gpu-box.']);
    expect(config.notifiers.ops).toMatchObject({ headers: { 'X-Team': 'ml; tabs\tare fine', 'X-A_b.c~!': '5' } });
    expect(config.budget).toEqual({ maxPods: 2_147_483_647, maxHourlySpend: 10_000 });
    expect(describeConfig(config, false)).toContain('http: 0.0.0.0:65535, also reached as watcher.internal, 10.0.0.5:9464, [::1]:80, gpu-box.');
  });

  it('checks values that come from ${VAR} too: a line break in a header, a price, a 10 MB value', async () => {
    const text = `notifiers: { ops: { type: webhook, url: "https://x", headers: { X-Team: "\${TEAM}" } } }
rules: [{ name: r, candidates: [{ gpu: X, maxPrice: "\${PRICE}" }], pod: { imageName: i, env: { BIG: "\${BIG}" } } }]`;
    expect(issuesOf(text, { TEAM: 'ml\r\nX-Injected: 1', PRICE: '250', BIG: 'small' })).toEqual([
      'notifiers.ops.headers.X-Team: must not contain a line break (CR or LF) or NUL',
      'rules[0].candidates[0].maxPrice: $250 is above the $100/GPU/hr sanity ceiling',
    ]);
    const big = 'x'.repeat(10_000_000);
    expect(issuesOf(text, { TEAM: 'ml', PRICE: '1', BIG: big })).toEqual(['rules[0].pod.env.BIG: is 10000000 characters long, above the 65536 a value may be']);
    const file = join(dir, 'big-env.yaml');
    await writeFile(file, text);
    const io = testIo({ TEAM: 'ml', PRICE: '1', BIG: big });
    expect(await runCli(['check', '-c', file], io)).toBe(78);
    expect(io.err.text()).toBe('rules[0].pod.env.BIG: is 10000000 characters long, above the 65536 a value may be\nconfig invalid: 1 problem(s)\n');
  });

  it('refuses a 10 MB file before parsing it, and a file over 1 MiB', async () => {
    const file = join(dir, 'ten-mb.yaml');
    await writeFile(file, `watch: [{ gpu: "${'x'.repeat(10_000_000)}" }]\n`);
    const io = testIo({});
    expect(await runCli(['check', '-c', file], io)).toBe(78);
    expect(io.err.text()).toBe(`${file}: is larger than 1 MiB, the most a config file may be: is it the right file?\nconfig invalid: 1 problem(s)\n`);
    expect(issuesOf(`# ${'x'.repeat(1024 * 1024)}\npoll: {}`)).toEqual(['test.yaml: is larger than 1 MiB, the most a config file may be: is it the right file?']);
    expect(() => parseConfig(`# ${'x'.repeat(1024 * 1024 - 20)}\npoll: {}`, 't', {})).not.toThrow();
  });

  it('refuses a device that never ends, reading no more than the limit', async () => {
    await expect(loadConfig('/dev/zero', {}, { required: true })).rejects.toThrow('/dev/zero: is larger than 1 MiB');
  });

  it('still reads ordinary anchors and aliases', () => {
    const shared = parseConfig(
      'rules:\n  - { name: a, candidates: [{ gpu: X, bid: 1 }], pod: &pod { imageName: i, containerDiskInGb: 20 } }\n  - { name: b, candidates: [{ gpu: Y, bid: 1 }], pod: *pod }',
      't',
      {},
    );
    expect(shared.rules.map((r) => r.pod)).toEqual([
      { imageName: 'i', containerDiskInGb: 20 },
      { imageName: 'i', containerDiskInGb: 20 },
    ]);
  });

  // In a child process only: with the guard broken, the bomb must not take the test runner down.
  it('`check` refuses a YAML alias bomb with exit 78 and a path, within 200 MB of memory', async () => {
    const file = join(dir, 'bomb.yaml');
    await writeFile(file, BILLION_LAUGHS);
    // The heap cap keeps a broken guard from taking the machine with it: it then dies instead.
    const child = spawnTs('test/fixtures/check-memory.ts', [file], { NODE_OPTIONS: '--max-old-space-size=512' });
    expect(await exited(child)).toBe(0);
    const result = JSON.parse(child.output()) as { code: number; stderr: string; peakGrowthMb: number };
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/^[a-i](\[\d\])+: the config holds more than 100000 values once YAML aliases \(\*name\) are followed: an alias bomb\?\nconfig invalid: 1 problem\(s\)\n$/);
    expect(result.peakGrowthMb).toBeLessThan(200);
    console.info(`alias bomb: check exits 78, peak RSS grew by ${result.peakGrowthMb.toFixed(1)} MB`);
  }, 60_000);
});

// Nine anchors, each nine uses of the one before: 9^9 (387 million) strings once followed.
const BILLION_LAUGHS = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  .concat(['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].map((name, i) => `${name}: &${name} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`))
  .join('\n');

describe('where the database is', () => {
  it('reads a relative store.path from the config file’s folder, whatever the working directory', () => {
    const source = join(dir, 'conf', 'watcher.yaml');
    expect(parseConfig('store: { path: data/w.db }', source, {}).store.path).toBe(join(dir, 'conf', 'data', 'w.db'));
    expect(parseConfig('{}', source, {}).store.path).toBe(join(dir, 'conf', 'data', 'gpu-watcher.db'));
    expect(parseConfig('store: { path: /var/lib/w.db }', source, {}).store.path).toBe('/var/lib/w.db');
    expect(parseConfig('store: { path: ":memory:" }', source, {}).store.path).toBe(':memory:');
  });

  it('keeps GPU_WATCHER_DB as given: relative to the working directory, like any shell path', () => {
    expect(parseConfig('store: { path: data/w.db }', join(dir, 'conf', 'watcher.yaml'), { GPU_WATCHER_DB: 'mine.db' }).store.path).toBe('mine.db');
  });

  it('refuses to start on an empty journal when only the older, working-directory file exists', async () => {
    // package.json, in the working directory, stands for a database an older version kept there.
    const source = join(dir, 'conf', 'watcher.yaml');
    expect(() => parseConfig('store: { path: package.json }', source, {})).toThrow(
      `store.path: "package.json" is read from the config file's folder, as ${join(dir, 'conf', 'package.json')}, which does not exist, but ${resolve('package.json')} (from the working directory, where older versions looked) does: move it there, or give store.path as an absolute path`,
    );
    await mkdir(join(dir, 'moved'), { recursive: true });
    await writeFile(join(dir, 'moved', 'package.json'), '');
    expect(parseConfig('store: { path: package.json }', join(dir, 'moved', 'watcher.yaml'), {}).store.path).toBe(join(dir, 'moved', 'package.json'));
    expect(parseConfig('store: { path: package.json }', source, { GPU_WATCHER_DB: 'elsewhere.db' }).store.path).toBe('elsewhere.db');
    // Without a config file there is no journal it could have meant; with --db, store.path is not used.
    expect(parseConfig('store: { path: package.json }', source, {}, { absent: true }).store.path).toBe(join(dir, 'conf', 'package.json'));
    expect(() => parseConfig('store: { path: package.json }', source, {}, { dbGiven: true })).not.toThrow();
  });
});

import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import dockerignoreModule from '@balena/dockerignore';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { createHandler, startHttpServer } from '../src/http/server.js';
import { loadDashboardAssets } from '../src/http/assets.js';
import { RunpodSimulator } from '../src/sim/server.js';
import { daemonFor } from './helpers/daemon.js';
import { capturedLogger } from './helpers/capture.js';
import { testMarket } from './helpers/market.js';

const run = promisify(execFile);
// The package's types say `export default`, but it is `module.exports = factory` (CommonJS), which
// Node's default import hands over as is: the factory itself.
const dockerignore = dockerignoreModule as unknown as typeof dockerignoreModule.default;

// No Docker engine runs here, so the packaging is checked for what can be checked without one:
// the compose file parses and wires what the README promises, and the Dockerfile keeps its promises.
describe('packaging', () => {
  it('docker-compose.yml: the watcher, config read-only, a named volume, env_file, restart, healthcheck', () => {
    const compose = YAML.parse(readFileSync('docker-compose.yml', 'utf8'));
    const service = compose.services['gpu-watcher'];
    expect(service.build).toBe('.');
    expect(service.env_file).toBe('.env');
    expect(service.restart).toBe('unless-stopped');
    expect(service.volumes).toEqual(['./config:/config:ro', 'gpu-watcher-data:/data']);
    expect(Object.keys(compose.volumes)).toEqual(['gpu-watcher-data']);
    expect(service.ports).toEqual(['127.0.0.1:9464:9464']);
    expect(service.command).toEqual(['run']);
    expect(service.environment.GPU_WATCHER_HTTP).toBe('0.0.0.0:9464');
    expect(service.healthcheck.test).toEqual(['CMD', 'node', 'scripts/healthcheck.mjs']);
  });

  it('Dockerfile: multi-stage on a supported Node LTS slim image, non-root, listening on 0.0.0.0 by GPU_WATCHER_HTTP, the healthcheck script', () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    const bases = [...dockerfile.matchAll(/^FROM node:(\d+)-slim/gm)].map((m) => Number(m[1]));
    expect(bases).toHaveLength(2);
    // Even majors are LTS; Node 20 reached its end of life in April 2026, and better-sqlite3 12 supports up to 26.
    for (const major of bases) expect(major % 2 === 0 && major >= 22 && major <= 26, `node:${major}`).toBe(true);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^\s+GPU_WATCHER_HTTP=0\.0\.0\.0:9464$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n\s+CMD \["node", "scripts\/healthcheck\.mjs"\]$/m);
    expect(dockerfile).toContain('COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs');
    expect(dockerfile).toContain('npm ci');
    expect(dockerfile).toContain('npm prune --omit=dev');
  });

  it('.dockerignore keeps secrets, databases, installed modules and git history out of the build context, and the sources in', () => {
    const filter = dockerignore().add(readFileSync('.dockerignore', 'utf8'));
    for (const path of ['.env', '.env.local', 'data/gpu-watcher.db', 'demo.db', 'config/watcher.db-wal', 'node_modules/pino/package.json', '.git/HEAD', 'dist/cli.js', 'reports/vitest.json']) {
      expect(filter.ignores(path), path).toBe(true);
    }
    for (const path of ['package.json', 'package-lock.json', '.npmrc', 'tsconfig.json', 'tsconfig.build.json', 'src/cli.ts', 'scripts/healthcheck.mjs', 'schema/runpod-v2.openapi.json', 'web/dashboard.js', 'config/watcher.example.yaml', 'scenarios/demo.yaml']) {
      expect(filter.ignores(path), path).toBe(false);
    }
  });

  it("the image's slimming of better-sqlite3 leaves a module that opens a database", async () => {
    const step = /^RUN cd node_modules\/better-sqlite3 \\\n((?:.*\\\n)*.*)$/m.exec(readFileSync('Dockerfile', 'utf8'))?.[1];
    expect(step).toBeDefined();
    const app = await mkdtemp(join(tmpdir(), 'gw-image-'));
    for (const name of ['better-sqlite3', 'bindings', 'file-uri-to-path']) await cp(join('node_modules', name), join(app, 'node_modules', name), { recursive: true });
    const module = join(app, 'node_modules', 'better-sqlite3');
    await run('sh', ['-ec', (step ?? '').replace(/\\\n/g, '\n').replace(/^\s*&& /gm, '')], { cwd: module });
    expect((await readdir(module)).sort()).toEqual(['LICENSE', 'README.md', 'build', 'lib', 'package.json']);
    expect(await readdir(join(module, 'build', 'Release'))).toEqual(['better_sqlite3.node']);
    const { stdout } = await run(process.execPath, ['-e', "const D = require('better-sqlite3'); console.log(new D(':memory:').prepare('select 6 * 7 as n').get().n)"], { cwd: app });
    expect(stdout.trim()).toBe('42');
  });

  it('the healthcheck script follows GPU_WATCHER_HTTP: 0 while /healthz is 200, 1 when nothing listens there', async () => {
    const sim = await RunpodSimulator.start(testMarket());
    const d = daemonFor(sim, 'watch: [{ gpu: NVIDIA RTX A6000, cloud: SECURE }]\n');
    await d.watcher.tick();
    const handler = createHandler({ daemon: d, config: d.config, clock: d.clock, dryRun: false, periodMs: 30_000, assets: loadDashboardAssets() });
    const server = await startHttpServer('0.0.0.0:0', handler, capturedLogger().logger);
    const port = new URL(server.url).port;
    try {
      const healthy = await run(process.execPath, ['scripts/healthcheck.mjs'], { env: { ...process.env, GPU_WATCHER_HTTP: `0.0.0.0:${port}` } });
      expect(healthy.stderr).toBe('');
    } finally {
      await server.close();
      await sim.close();
    }
    // The same port, now closed: the check fails.
    await expect(run(process.execPath, ['scripts/healthcheck.mjs'], { env: { ...process.env, GPU_WATCHER_HTTP: `0.0.0.0:${port}` } })).rejects.toMatchObject({ code: 1 });
  });

  it('.env.example covers every variable the example config needs', () => {
    const env = Object.fromEntries(
      readFileSync('.env.example', 'utf8')
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const example = readFileSync('config/watcher.example.yaml', 'utf8');
    const withoutComments = example
      .split('\n')
      .map((line) => line.replace(/(^|\s)#.*$/, ''))
      .join('\n');
    const referenced = [...withoutComments.matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1]);
    expect(referenced.length).toBeGreaterThan(3);
    for (const name of referenced) expect(env, name).toHaveProperty(name as string);
    expect(() => parseConfig(example, 'example', env)).not.toThrow();
  });
});

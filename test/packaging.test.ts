import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';

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
    expect(service.healthcheck.test.join(' ')).toContain('/healthz');
    expect(service.ports).toEqual(['127.0.0.1:9464:9464']);
    expect(service.command).toEqual(['run', '--http', '0.0.0.0:9464']);
  });

  it('Dockerfile: multi-stage on Node 20 slim, non-root, a HEALTHCHECK on /healthz', () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    expect(dockerfile.match(/^FROM node:20-slim/gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n.*\/healthz/m);
    expect(dockerfile).toContain('npm ci');
    expect(dockerfile).toContain('npm prune --omit=dev');
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

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/commands/program.js';
import { testIo } from '../helpers/capture.js';

/** A config whose RunPod never answers (port 9, discard), so every command logs its retries. */
async function deadEndConfig(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-logs-'));
  const path = join(dir, 'watcher.yaml');
  await writeFile(path, 'poll: { schedule: "*/5 * * * * *", timeout: 1s }\nwatch: [{ gpu: NVIDIA RTX A6000 }]\napi: { url: "http://127.0.0.1:9/graphql" }\n');
  return path;
}

const lines = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('[') || l.startsWith('{'));

describe('logs for people and for machines', () => {
  it('refuses a LOG_LEVEL or LOG_FORMAT that names nothing, before any command runs: exit 78 naming the variable', async () => {
    const io = testIo({ LOG_LEVEL: 'verbose', LOG_FORMAT: 'xml' });
    expect(await runCli(['status', '--db', '/nonexistent/never-opened.db'], io)).toBe(78);
    expect(io.err.text()).toBe(
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"\nLOG_FORMAT: must be one of json, pretty, got "xml"\nconfig invalid: 2 problem(s)\n',
    );
  });

  it('a one-shot command logs readable lines even when piped; --log-format json makes them JSON', async () => {
    const config = await deadEndConfig();
    const pretty = testIo({});
    expect(await runCli(['gpus', '-c', config], pretty)).toBe(1);
    const prettyLines = lines(pretty.err.text());
    expect(prettyLines.length).toBeGreaterThan(0);
    for (const line of prettyLines) expect(line).toMatch(/^\[[\d:.]+\] WARN: RunPod call failed; retrying .*operation=catalog/);
    const json = testIo({});
    expect(await runCli(['--log-format', 'json', 'gpus', '-c', config], json)).toBe(1);
    const jsonLines = lines(json.err.text());
    expect(jsonLines.length).toBeGreaterThan(0);
    for (const line of jsonLines) expect(JSON.parse(line)).toMatchObject({ level: 40, operation: 'catalog' });
  });

  it('the daemon logs JSON lines when piped, pretty ones on a terminal, and as LOG_FORMAT says', async () => {
    const config = await deadEndConfig();
    const dir = await mkdtemp(join(tmpdir(), 'gw-logs-db-'));
    const piped = testIo({});
    expect(await runCli(['run', '--once', '-c', config, '--db', join(dir, 'a.db')], piped)).toBe(1); // the one poll failed
    expect(JSON.parse(lines(piped.err.text())[0] ?? '')).toMatchObject({ level: 30, msg: expect.stringMatching(/^gpu-watcher started/) });
    const terminal = testIo({});
    Object.assign(terminal.err, { isTTY: true });
    expect(await runCli(['run', '--once', '-c', config, '--db', join(dir, 'b.db')], terminal)).toBe(1);
    expect(lines(terminal.err.text())[0]).toMatch(/^\[[\d:.]+\] .*INFO.*: .*gpu-watcher started/);
    const asked = testIo({ LOG_FORMAT: 'pretty' });
    expect(await runCli(['run', '--once', '-c', config, '--db', join(dir, 'c.db')], asked)).toBe(1);
    expect(lines(asked.err.text())[0]).toMatch(/^\[[\d:.]+\] INFO: gpu-watcher started/);
  }, 30_000);
});

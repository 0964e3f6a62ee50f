import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/commands/program.js';
import { testIo } from '../helpers/capture.js';

/**
 * What a demo run tells, without what differs between any two runs by nature: the ports, the
 * temporary folder, pod ids and their random ssh addresses, wall-clock times, how long each poll
 * took, and how many notifications the webhook had taken by the end (deliveries run beside the story).
 */
function story(out: string): string[] {
  return out
    .replace(/http:\/\/127\.0\.0\.1:\d+/g, 'http://127.0.0.1:PORT')
    .replace(/\S*gpu-watcher-demo-[^/\s]+\/demo\.db/g, 'DB')
    .replace(/\bpod [a-z0-9]{10,}\b/g, 'pod ID')
    .replace(/ssh root@[\d.]+ -p \d+/g, 'ssh root@IP -p PORT')
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'TIME')
    .replace(/ in \d+ ms:/g, ' in N ms:')
    .replace(/^\d+ notification\(s\)/m, 'N notification(s)')
    .split('\n');
}

async function demo(): Promise<string> {
  const io = testIo({ LOG_LEVEL: 'silent' });
  expect(await runCli(['demo', '--story-end'], io)).toBe(0);
  expect(io.err.text()).toBe('');
  return io.out.text();
}

describe('demo', () => {
  it('tells the same story twice in a row on the default settings: a fresh database each run, ending after the last scripted step', async () => {
    const first = await demo();
    const second = await demo();
    // The default database is a new temporary file each run.
    const dbs = [first, second].map((out) => /history in (\S+demo\.db)\)/.exec(out)?.[1]);
    expect(dbs[0]).toMatch(/gpu-watcher-demo-/);
    expect(dbs[1]).not.toBe(dbs[0]);
    // The story: each step's market note, poll and changes, and every event in order.
    expect(story(first)).toContain('[step 8] market: RunPod retires its GraphQL API (HTTP 410 from now on); the RTX 4090 on Secure Cloud rises to High');
    expect(story(first).filter((line) => line.startsWith('  event ')).length).toBeGreaterThan(12);
    expect(first).not.toContain('[step 9]');
    expect(story(second)).toEqual(story(first));
  }, 180_000);
});

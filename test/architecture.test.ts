import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Runs one of package.json's checks; resolves with its exit code and everything it printed. */
function check(script: string): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile('npm', ['run', '--silent', script], { timeout: 90_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      done({ code, output: `${stdout}${stderr}` });
    });
  });
}

describe('the architecture', () => {
  it('keeps its layers: no folder imports one above it or a sibling, no cycles (dependency-cruiser, .dependency-cruiser.cjs)', async () => {
    const { code, output } = await check('check:layers');
    expect(code, output).toBe(0);
  }, 120_000);

  it('has no unused file, export or dependency (knip, knip.json)', async () => {
    const { code, output } = await check('check:unused');
    expect(code, output).toBe(0);
  }, 120_000);
});

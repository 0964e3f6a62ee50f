import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Every TypeScript file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sources(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('the store as a boundary', () => {
  it('nothing outside src/store/ imports better-sqlite3 or the connection module, or prepares SQL', () => {
    const offenders = sources('src')
      .filter((path) => !relative('src', path).startsWith('store/'))
      .flatMap((path) => {
        const text = readFileSync(path, 'utf8');
        return [/from 'better-sqlite3'/, /store\/db\.js'/, /\.prepare\(/, /\.pragma\(/].filter((pattern) => pattern.test(text)).map((pattern) => `${path}: ${pattern.source}`);
      });
    expect(offenders).toEqual([]);
  });
});

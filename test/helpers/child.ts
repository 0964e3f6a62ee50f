import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { waitUntil } from './wait.js';

const TSX = pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href;

/** Starts a TypeScript entry point of this project in a child process, through tsx (as another user with `as`). */
export function spawnTs(
  entry: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  cwd = process.cwd(),
  as?: { uid: number; gid: number },
): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, ['--import', TSX, resolve(entry), ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...as,
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  return Object.assign(child, { output: () => output });
}

/** Resolves with the exit code (or signal name) once the child has exited. */
export function exited(child: ChildProcess): Promise<number | string> {
  return new Promise((done) => child.once('exit', (code, signal) => done(code ?? signal ?? -1)));
}

/** Waits until `predicate` holds, for at most `timeoutMs` (`waitUntil` with a positional timeout). */
export function until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  return waitUntil(predicate, { timeoutMs });
}

/** Starts `gpu-watcher run -c config` and kills it with SIGKILL once `ready` holds; resolves with how it exited (`SIGKILL`). */
export async function killRunWhen(config: string, env: NodeJS.ProcessEnv, ready: () => boolean): Promise<number | string> {
  const child = spawnTs('src/cli.ts', ['run', '-c', config], env);
  const exit = exited(child);
  await until(ready, 20_000);
  child.kill('SIGKILL');
  return exit;
}

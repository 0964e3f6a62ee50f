#!/usr/bin/env node
import dotenv from 'dotenv';
import { runCli } from './commands/program.js';

// .env in the working directory first; variables already set win.
dotenv.config({ quiet: true });

const shutdown = new Promise<void>((resolve) => {
  process.once('SIGINT', () => resolve());
  process.once('SIGTERM', () => resolve());
});

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  waitForShutdown: () => shutdown,
  // Only `run` listens; other commands keep SIGHUP's default (they end).
  onReload: (listener) => void process.on('SIGHUP', listener),
});

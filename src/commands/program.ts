import { Command, CommanderError, Option } from 'commander';
import { RunpodError } from '../runpod/errors.js';
import { ConfigError, formatIssue } from '../config/errors.js';
import { DatabaseError, LeaseHeldError } from '../store/errors.js';
import { VERSION } from '../lib/version.js';
import { registerCheck } from './check.js';
import { registerDemo } from './demo.js';
import { registerGpus } from './gpus.js';
import { registerHistory } from './history.js';
import { registerInsights } from './insights.js';
import { registerNotifyTest } from './notify-test.js';
import { registerPods } from './pods.js';
import { registerReplay } from './replay.js';
import { registerRun } from './run.js';
import { registerSim } from './sim.js';
import { registerStatus } from './status.js';
import { logChoice, OptionError } from './context.js';
import type { CliIo, LogChoice } from './io.js';
import { LOG_FORMATS } from '../lib/logger.js';

/** Exit status for an invalid config (EX_CONFIG from sysexits.h). */
const EXIT_CONFIG = 78;
/** Exit status when another gpu-watcher holds the database's lease (EX_TEMPFAIL: try again once it stops). */
const EXIT_LEASE = 75;
/** Exit status when the database cannot be opened, written or trusted (EX_CANTCREAT). */
const EXIT_DATABASE = 73;

function buildProgram(cliIo: CliIo): Command {
  // Filled in before the command's action runs, once the flags are read and LOG_LEVEL is checked.
  const log: LogChoice = { level: undefined, format: 'json' };
  const io: CliIo = { ...cliIo, log };
  const program = new Command()
    .name('gpu-watcher')
    .description('Watches RunPod GPU stock and prices, records the history, and deploys pods by rules.')
    .version(VERSION)
    .addOption(new Option('--log-format <format>', 'logs as json lines or pretty lines (default: pretty on a terminal and for every command but run; LOG_FORMAT)').choices(LOG_FORMATS))
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .hook('preAction', (_program, action) => void Object.assign(log, logChoice(action.name(), program.opts<{ logFormat?: string }>().logFormat, io)));
  registerRun(program, io);
  registerCheck(program, io);
  registerGpus(program, io);
  registerHistory(program, io);
  registerInsights(program, io);
  registerPods(program, io);
  registerReplay(program, io);
  registerNotifyTest(program, io);
  registerStatus(program, io);
  registerSim(program, io);
  registerDemo(program, io);
  // Subcommands inherit exitOverride and output routing only when set on each of them.
  const apply = (command: Command): void => {
    for (const sub of command.commands) {
      sub.exitOverride().configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) });
      apply(sub);
    }
  };
  apply(program);
  return program;
}

/**
 * Runs the CLI on `argv` (without node and script) and returns the exit status: 0 success,
 * 78 invalid config (every problem as `path: message`) or flag value (`--since`), 75 another
 * gpu-watcher holds the database, 73 the database cannot be used, 1 anything else (one clear line).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successes; commander has already printed usage errors.
      return error.exitCode === 0 ? 0 : 1;
    }
    if (error instanceof ConfigError) {
      for (const issue of error.issues) io.stderr.write(`${formatIssue(issue)}\n`);
      io.stderr.write(`config invalid: ${error.issues.length} problem(s)\n`);
      return EXIT_CONFIG;
    }
    if (error instanceof OptionError) {
      io.stderr.write(`error: ${error.message}\n`);
      return EXIT_CONFIG;
    }
    if (error instanceof LeaseHeldError || error instanceof DatabaseError) {
      io.stderr.write(`error: ${error.message}\n`);
      return error instanceof LeaseHeldError ? EXIT_LEASE : EXIT_DATABASE;
    }
    if (error instanceof RunpodError && error.kind === 'auth') {
      // One line, the key named once: the client's own message usually says to check it already.
      const hint = error.message.includes('RUNPOD_API_KEY') ? '' : ' (is RUNPOD_API_KEY set and valid?)';
      io.stderr.write(`error: ${error.message}${hint}\n`);
      return 1;
    }
    io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

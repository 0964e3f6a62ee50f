import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { configSecrets } from '../config/secrets.js';
import { NOTIFY_TIMEOUT_MS } from '../daemon/daemon.js';
import { createNotifiers } from '../notify/registry.js';
import { DeliveryError } from '../notify/notifier.js';
import { newEvent } from '../events/event.js';
import { configPath, UsageError } from './context.js';
import type { CliIo } from './io.js';

/** `notify-test [-c FILE] [--notifier NAME]`: a `test` event through each notifier, each result printed. */
export function registerNotifyTest(program: Command, io: CliIo): void {
  program
    .command('notify-test')
    .description('sends a test event through each (or one) notifier and reports each result')
    .option('-c, --config <file>', 'config file (default: GPU_WATCHER_CONFIG or config/watcher.yaml)')
    .option('--notifier <name>', 'only this notifier')
    .action(async (opts: { config?: string; notifier?: string }) => {
      const config = await loadConfig(configPath(opts.config, io).path, io.env, { required: true });
      const notifiers = createNotifiers(config.notifiers, { fetch: globalThis.fetch, timeoutMs: NOTIFY_TIMEOUT_MS, secrets: configSecrets(config, io.env.RUNPOD_API_KEY) });
      const chosen = opts.notifier === undefined ? [...notifiers.values()] : [notifiers.get(opts.notifier)].filter((n) => n !== undefined);
      if (chosen.length === 0) {
        throw new UsageError(opts.notifier === undefined ? 'the config has no notifiers' : `no notifier named "${opts.notifier}" (defined: ${[...notifiers.keys()].join(', ') || 'none'})`);
      }
      const event = newEvent({ type: 'test', summary: 'gpu-watcher test notification: if you can read this, this notifier works' }, Date.now());
      let failures = 0;
      for (const notifier of chosen) {
        try {
          const { status } = await notifier.send(event);
          io.stdout.write(`${notifier.name} (${notifier.type}): delivered, ${notifier.protocol} ${status}\n`);
        } catch (error) {
          failures++;
          const detail = error instanceof DeliveryError ? error.message : String(error);
          io.stdout.write(`${notifier.name} (${notifier.type}): FAILED, ${detail}\n`);
        }
      }
      if (failures > 0) throw new Error(`${failures} of ${chosen.length} notifier(s) failed`);
    });
}

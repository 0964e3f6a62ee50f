import type { Command } from 'commander';
import { maxSpendText } from '../config/describe.js';
import { loadConfig } from '../config/load.js';
import { usd } from '../lib/format.js';
import { formatDuration } from '../lib/duration.js';
import { schedulePeriodMs } from '../lib/cron-period.js';
import { buildStatus, type StatusDocument } from '../status/build.js';
import { configPath } from './context.js';
import { openRecordedStore } from './history.js';
import type { CliIo } from './io.js';

/**
 * `status [--json] [--db FILE]`: what the daemon last saw and decided, read from its database.
 * Exit 1 (after printing it) when RunPod is down or the last poll is stale.
 */
export function registerStatus(program: Command, io: CliIo): void {
  program
    .command('status')
    .description('what the daemon last saw and decided: last poll, rules, spend, alerts, live watcher pods, undelivered events')
    .option('-c, --config <file>', 'config file, for store.path, and the rules and alerts of a database whose daemon kept none (default: GPU_WATCHER_CONFIG or config/watcher.yaml)')
    .option('--db <file>', 'SQLite file (default: GPU_WATCHER_DB or store.path)')
    .option('--json', 'print JSON')
    .action(async (opts: { config?: string; db?: string; json?: boolean }) => {
      const { path, explicit } = configPath(opts.config, io);
      const config = await loadConfig(path, io.env, { required: explicit, dbGiven: opts.db !== undefined });
      const store = openRecordedStore(opts.db ?? config.store.path);
      let trouble: string | undefined;
      try {
        const now = Date.now();
        // The rules and alerts of the daemon that runs on this database; a config file only for one that kept none.
        const running = store.daemon.runningConfig.get();
        const status = buildStatus({ store, config: running ?? config, now });
        io.stdout.write(opts.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
        trouble = healthProblem(status, running?.periodMs ?? schedulePeriodMs(config.poll.schedule), now);
      } finally {
        store.close();
      }
      if (trouble) throw new Error(trouble);
    });
}

/** The spend line: today, this month, in all, and budget.maxSpend when set. */
function formatSpend(spend: StatusDocument['spend']): string {
  const limits = spend.maxSpend ? `; budget.maxSpend ${maxSpendText(spend.maxSpend)}` : '';
  return `spend: ${usd(spend.today)} today, ${usd(spend.thisMonth)} this month (UTC days), ${usd(spend.total)} in all${limits}`;
}

/** Polls this many schedule periods old are stale, as `/healthz` judges them. */
const STALE_PERIODS = 3;

/**
 * Why `status` exits 1, for cron and monitoring: RunPod down, or no poll recorded for three
 * schedule periods (the daemon stopped or stalled). Undefined when all is well.
 */
function healthProblem(s: StatusDocument, periodMs: number, now: number): string | undefined {
  if (s.api.down) return `RunPod API down since ${s.api.downSince} (${s.api.failuresInARow} failed polls in a row)`;
  const at = s.lastPoll?.at ? Date.parse(s.lastPoll.at) : undefined;
  const staleAfter = STALE_PERIODS * periodMs;
  if (at === undefined) return 'no poll recorded yet: is the daemon running?';
  if (now - at > staleAfter) return `the last poll was at ${s.lastPoll?.at}, over ${formatDuration(staleAfter)} (${STALE_PERIODS} schedule periods) ago: is the daemon running?`;
  return undefined;
}

/** The status as lines a person reads. */
function formatStatus(s: StatusDocument): string {
  const lines: string[] = [];
  lines.push(s.lastPoll ? `last poll: ${s.lastPoll.outcome} at ${s.lastPoll.at} (${s.lastPoll.polls} poll(s) ${s.lastPoll.outcome} since ${s.lastPoll.sameOutcomeSince})${s.lastPoll.error ? `: ${s.lastPoll.error}` : ''}` : 'last poll: none recorded yet');
  const source = s.api.source === 'rest' ? 'REST v2' : 'GraphQL';
  lines.push(s.api.down ? `RunPod API (${source}): DOWN since ${s.api.downSince} (${s.api.failuresInARow} failed polls)` : `RunPod API (${source}): up`);
  if (s.polling) lines.push(`polling: ${s.polling.mode} since ${s.polling.since}`);
  for (const r of s.rules) {
    const state = r.blocked ? `blocked: ${r.blocked}` : r.last ? `${r.last.outcome} (${r.last.at}): ${r.last.detail}` : 'not evaluated yet';
    lines.push(`rule ${r.name}: ${state}; deploys ${r.deploys}${r.maxDeploys === null ? '' : `/${r.maxDeploys}`}; pods ${r.pods}/${r.maxPods}; spent ${usd(r.spent)}`);
    for (const w of r.waitingOutRetryAfter) lines.push(`  ${w.gpu} refused, skipped until ${w.until}`);
  }
  lines.push(formatSpend(s.spend));
  for (const p of s.spend.pods) lines.push(`  pod ${p.podId} (${p.rule}): ${usd(p.dollars)}${p.billed ? ', billed' : ', stopped'} as of ${p.accountedUpTo}`);
  for (const a of s.alerts) lines.push(`alert ${a.name}: ${a.firing ? `firing since ${a.firedAt}` : 'quiet'}`);
  if (s.livePods) {
    lines.push(`live watcher pods as of ${s.livePods.asOf}: ${s.livePods.pods.length}`);
    for (const p of s.livePods.pods) lines.push(`  ${p.id} ${p.name} ${p.gpuDisplayName ?? p.gpuTypeId ?? '?'} x${p.gpuCount} ${p.kind} ${usd(p.costPerHr)}/hr${p.watcher ? ` rule ${p.watcher.rule}` : ''}`);
  }
  lines.push(`undelivered events: ${s.undelivered.pending} pending, ${s.undelivered.failed} given up`);
  for (const d of s.undelivered.newest) lines.push(`  ${d.type} -> ${d.notifier}: ${d.status}, ${d.attempts} attempt(s)${d.lastError ? `, last: ${d.lastError}` : ''}`);
  return `${lines.join('\n')}\n`;
}

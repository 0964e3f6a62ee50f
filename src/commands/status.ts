import type { Command } from 'commander';
import { maxSpendText } from '../config/describe.js';
import { loadConfig } from '../config/load.js';
import { usd } from '../lib/format.js';
import { buildStatus, type StatusDocument } from '../status/build.js';
import { configPath } from './context.js';
import { openRecordedStore } from './history.js';
import type { CliIo } from './io.js';

/** `status [--json] [--db FILE]`: what the daemon last saw and decided, read from its database. */
export function registerStatus(program: Command, io: CliIo): void {
  program
    .command('status')
    .description('what the daemon last saw and decided: last poll, rules, spend, alerts, live watcher pods, undelivered events')
    .option('-c, --config <file>', 'config file, for the rules and alerts to report (default: GPU_WATCHER_CONFIG or config/watcher.yaml)')
    .option('--db <file>', 'SQLite file (default: GPU_WATCHER_DB or store.path)')
    .option('--json', 'print JSON')
    .action(async (opts: { config?: string; db?: string; json?: boolean }) => {
      const { path, explicit } = configPath(opts.config, io);
      const config = await loadConfig(path, io.env, { required: explicit, dbGiven: opts.db !== undefined });
      const store = openRecordedStore(opts.db ?? config.store.path);
      try {
        const status = buildStatus({ store, config, now: Date.now() });
        io.stdout.write(opts.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
      } finally {
        store.close();
      }
    });
}

/** The spend line: today, this month, in all, and budget.maxSpend when set. */
function formatSpend(spend: StatusDocument['spend']): string {
  const limits = spend.maxSpend ? `; budget.maxSpend ${maxSpendText(spend.maxSpend)}` : '';
  return `spend: ${usd(spend.today)} today, ${usd(spend.thisMonth)} this month (UTC days), ${usd(spend.total)} in all${limits}`;
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

import type { Command } from 'commander';
import type { Pod } from '../api/types.js';
import { loadConfig } from '../config/load.js';
import { isoTime as iso, usd } from '../lib/format.js';
import { DeployJournal } from '../store/deploy-journal.js';
import { Outbox } from '../store/outbox.js';
import { stateTable } from '../store/rule-states.js';
import { WatcherState } from '../store/watcher-state.js';
import type { AlertState } from '../watcher/alerts.js';
import type { ApiHealth } from '../watcher/api-health.js';
import type { RuleState } from '../watcher/decide.js';
import { LAST_CYCLE, type RuleReport } from '../watcher/rules-engine.js';
import { configPath } from './context.js';
import { openHistory } from './history.js';
import type { CliIo } from './io.js';


/** `status [--json] [--db FILE]`: what the daemon last saw and decided, read from its database. */
export function registerStatus(program: Command, io: CliIo): void {
  program
    .command('status')
    .description('what the daemon last saw and decided: last poll, rules, alerts, live watcher pods, undelivered events')
    .option('-c, --config <file>', 'config file, for the rules and alerts to report (default: GPU_WATCHER_CONFIG or config/watcher.yaml)')
    .option('--db <file>', 'SQLite file (default: GPU_WATCHER_DB or store.path)')
    .option('--json', 'print JSON')
    .action(async (opts: { config?: string; db?: string; json?: boolean }) => {
      const { path, explicit } = configPath(opts.config, io);
      const config = await loadConfig(path, io.env, { required: explicit, dbGiven: opts.db !== undefined });
      const { db, history } = openHistory(opts.db ?? config.store.path);
      try {
        const now = Date.now();
        const state = new WatcherState(db);
        const journal = new DeployJournal(db);
        const outbox = new Outbox(db);
        const rules = stateTable<RuleState>(db, 'rule_state');
        const alerts = stateTable<AlertState>(db, 'alert_state');
        const lastCycle = state.get<{ at: number; reports: RuleReport[]; livePods: Pod[] }>(LAST_CYCLE);
        const health = state.get<ApiHealth>('api_health');
        const lastRun = history.lastPollRun();
        const body = {
          lastPoll: lastRun ? { outcome: lastRun.outcome, at: iso(lastRun.lastAt), sameOutcomeSince: iso(lastRun.firstAt), polls: lastRun.polls, error: lastRun.error } : null,
          api: { down: health?.downSince !== null && health?.downSince !== undefined, downSince: iso(health?.downSince), failuresInARow: health?.failures ?? 0 },
          rules: config.rules.map((rule) => {
            const ruleState = rules.get(rule.name);
            const report = lastCycle?.reports.find((r) => r.rule === rule.name);
            return {
              name: rule.name,
              deploys: journal.succeededCount(rule.name),
              maxDeploys: rule.maxDeploys ?? null,
              last: report ? { at: iso(report.at), outcome: report.outcome, detail: report.detail } : null,
              blocked: ruleState?.blocked?.reason ?? null,
              waitingOutRetryAfter: Object.entries(ruleState?.retryUntil ?? {})
                .filter(([, until]) => until > now)
                .map(([gpu, until]) => ({ gpu, until: iso(until) })),
            };
          }),
          alerts: config.alerts.map((alert) => {
            const alertState = alerts.get(alert.name);
            return { name: alert.name, firing: alertState?.firing ?? false, since: iso(alertState?.firedAt) };
          }),
          livePods: lastCycle ? { asOf: iso(lastCycle.at), pods: lastCycle.livePods } : null,
          undelivered: { ...outbox.depth(), newest: outbox.undelivered(10).map((d) => ({ ...d, time: iso(d.time), nextAttemptAt: d.status === 'pending' ? iso(d.nextAttemptAt) : null })) },
        };
        io.stdout.write(opts.json ? `${JSON.stringify(body, null, 2)}\n` : formatStatus(body));
      } finally {
        db.close();
      }
    });
}

type Status = {
  lastPoll: { outcome: string; at: string | null; sameOutcomeSince: string | null; polls: number; error: string | null } | null;
  api: { down: boolean; downSince: string | null; failuresInARow: number };
  rules: { name: string; deploys: number; maxDeploys: number | null; last: { at: string | null; outcome: string; detail: string } | null; blocked: string | null; waitingOutRetryAfter: { gpu: string; until: string | null }[] }[];
  alerts: { name: string; firing: boolean; since: string | null }[];
  livePods: { asOf: string | null; pods: Pod[] } | null;
  undelivered: { pending: number; failed: number; newest: { type: string; notifier: string; status: string; attempts: number; lastError: string | null }[] };
};

/** The status as lines a person reads. */
function formatStatus(s: Status): string {
  const lines: string[] = [];
  lines.push(s.lastPoll ? `last poll: ${s.lastPoll.outcome} at ${s.lastPoll.at} (${s.lastPoll.polls} poll(s) ${s.lastPoll.outcome} since ${s.lastPoll.sameOutcomeSince})${s.lastPoll.error ? `: ${s.lastPoll.error}` : ''}` : 'last poll: none recorded yet');
  lines.push(s.api.down ? `RunPod API: DOWN since ${s.api.downSince} (${s.api.failuresInARow} failed polls)` : 'RunPod API: up');
  for (const r of s.rules) {
    const state = r.blocked ? `blocked: ${r.blocked}` : r.last ? `${r.last.outcome} (${r.last.at}): ${r.last.detail}` : 'not evaluated yet';
    lines.push(`rule ${r.name}: ${state}; deploys ${r.deploys}${r.maxDeploys === null ? '' : `/${r.maxDeploys}`}`);
    for (const w of r.waitingOutRetryAfter) lines.push(`  ${w.gpu} refused, skipped until ${w.until}`);
  }
  for (const a of s.alerts) lines.push(`alert ${a.name}: ${a.firing ? `firing since ${a.since}` : 'quiet'}`);
  if (s.livePods) {
    lines.push(`live watcher pods as of ${s.livePods.asOf}: ${s.livePods.pods.length}`);
    for (const p of s.livePods.pods) lines.push(`  ${p.id} ${p.name} ${p.gpuDisplayName ?? p.gpuTypeId ?? '?'} x${p.gpuCount} ${p.kind} ${usd(p.costPerHr)}/hr${p.watcher ? ` rule ${p.watcher.rule}` : ''}`);
  }
  lines.push(`undelivered events: ${s.undelivered.pending} pending, ${s.undelivered.failed} given up`);
  for (const d of s.undelivered.newest) lines.push(`  ${d.type} -> ${d.notifier}: ${d.status}, ${d.attempts} attempt(s)${d.lastError ? `, last: ${d.lastError}` : ''}`);
  return `${lines.join('\n')}\n`;
}

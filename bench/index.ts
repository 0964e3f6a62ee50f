import os from 'node:os';
import { insightsBench } from './insights.bench.js';
import { loopBench } from './loop.bench.js';
import { notifyBench } from './notify.bench.js';
import { reactionBench } from './reaction.bench.js';
import { snapshotBench } from './snapshot.bench.js';
import { spendBench } from './spend.bench.js';
import { storeBench } from './store.bench.js';
import { timeToGpuBench } from './time-to-gpu.bench.js';
import { v2Bench } from './v2.bench.js';

// `npm run bench`: every benchmark, each printing its figures beside the workload that made them;
// `npm run bench -- notify store` only those named. BENCH_DAYS, BENCH_CYCLES and BENCH_TRIALS shorten
// the long ones for a quick look.
const BENCHES: Record<string, () => Promise<void>> = { snapshot: snapshotBench, notify: notifyBench, reaction: reactionBench, store: storeBench, insights: insightsBench, loop: loopBench, v2: v2Bench, 'time-to-gpu': timeToGpuBench, spend: spendBench };
const chosen = process.argv.slice(2);
const unknown = chosen.filter((name) => !(name in BENCHES));
if (unknown.length > 0) throw new Error(`no benchmark named ${unknown.join(', ')} (there are: ${Object.keys(BENCHES).join(', ')})`);

console.log(`gpu-watcher benchmarks on ${os.cpus().length} cores, Node ${process.version}, ${new Date().toISOString()}`);
for (const [name, bench] of Object.entries(BENCHES)) if (chosen.length === 0 || chosen.includes(name)) await bench();

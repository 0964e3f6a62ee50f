import os from 'node:os';
import { loopBench } from './loop.bench.js';
import { notifyBench } from './notify.bench.js';
import { reactionBench } from './reaction.bench.js';
import { snapshotBench } from './snapshot.bench.js';
import { storeBench } from './store.bench.js';

// `npm run bench`: every benchmark, each printing its figures beside the workload that made them.
// BENCH_DAYS and BENCH_CYCLES shorten the two long ones for a quick look.
console.log(`gpu-watcher benchmarks on ${os.cpus().length} cores, Node ${process.version}, ${new Date().toISOString()}`);
await snapshotBench();
await notifyBench();
await reactionBench();
await storeBench();
await loopBench();

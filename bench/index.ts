import os from 'node:os';
import { snapshotBench } from './snapshot.bench.js';

// `npm run bench`: every benchmark, each printing its figures beside the workload that made them.
console.log(`gpu-watcher benchmarks on ${os.cpus().length} cores, Node ${process.version}, ${new Date().toISOString()}`);
await snapshotBench();

/**
 * `npm run bench`: runs every benchmark and prints its median. Figures are recorded in
 * docs/benchmarks.md; tests never assert on time.
 *
 *   npm run bench             all benchmarks
 *   npm run bench -- --json   machine-readable results on stdout
 */
import { cpus } from 'node:os';
import { measure } from './harness';
import type { BenchmarkResult } from './harness';
import { manifestBenchmarks } from './manifest.bench';

const all = [...manifestBenchmarks];
const json = process.argv.includes('--json');
const filter = process.argv.slice(2).find((a) => !a.startsWith('--'));

const results: BenchmarkResult[] = [];
for (const b of all.filter((x) => !filter || x.name.includes(filter))) {
  const r = await measure(b);
  results.push(r);
  if (!json) process.stdout.write(`${r.name}\n  median ${r.medianMs.toFixed(1)} ms  (min ${r.minMs.toFixed(1)}, max ${r.maxMs.toFixed(1)}, ${r.iterations} runs)\n`);
}
if (json) {
  process.stdout.write(`${JSON.stringify({ node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, results }, null, 2)}\n`);
}

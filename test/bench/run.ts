/**
 * `npm run bench`: runs the benchmark suites, each figure the median of several runs. Progress goes
 * to stderr and the table to stdout; every sample is also written as JSON to bench/results/.
 * docs/benchmarks.md records the figures; tests never assert on time.
 *
 *   npm run bench                       every suite
 *   npm run bench -- manifest pack      only the suites named
 *   npm run bench -- --runs 3           three runs per figure instead of each suite's default
 *   npm run bench -- --out <file>       write the JSON there instead of bench/results/<time>.json
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchContext, BenchSuite, Figure } from './harness';
import { lambdaSuite } from './lambda.bench';
import { manifestSuite } from './manifest.bench';
import { packSuite } from './pack.bench';
import { pipelineSuite } from './pipeline.bench';

const SUITES: readonly BenchSuite[] = [manifestSuite, packSuite, lambdaSuite, pipelineSuite];
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string' }, out: { type: 'string' } } });
const runsOverride = values.runs === undefined ? undefined : Number(values.runs);
if (runsOverride !== undefined && !(Number.isInteger(runsOverride) && runsOverride > 0)) {
  process.stderr.write(`--runs must be a whole number above 0, not ${values.runs}\n`);
  process.exit(2);
}
const unknown = positionals.filter((p) => !SUITES.some((s) => s.name === p));
if (unknown.length > 0) {
  process.stderr.write(`no suite named ${unknown.join(', ')}: the suites are ${SUITES.map((s) => s.name).join(', ')}\n`);
  process.exit(2);
}
const chosen = positionals.length === 0 ? SUITES : SUITES.filter((s) => positionals.includes(s.name));

const machine = { node: process.version, platform: `${process.platform}/${process.arch}`, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) };
const started = new Date();
const results: { suite: string; description: string; seconds: number; figures: Figure[] }[] = [];
for (const suite of chosen) {
  const ctx: BenchContext = {
    runs: (defaultRuns) => runsOverride ?? defaultRuns,
    progress: (message) => process.stderr.write(`[${suite.name}] ${message}\n`),
  };
  ctx.progress(suite.description);
  const t0 = Date.now();
  const figures = await suite.run(ctx);
  results.push({ suite: suite.name, description: suite.description, seconds: Math.round((Date.now() - t0) / 1000), figures });
}

const out = values.out ?? join(ROOT, 'bench', 'results', `${started.toISOString().replace(/[:.]/g, '-')}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ started: started.toISOString(), machine, runsOverride: runsOverride ?? null, suites: results }, null, 2)}\n`);

process.stdout.write(table(results.flatMap((r) => r.figures)));
process.stderr.write(`\n${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node.js ${machine.node}; every sample in ${relative(process.cwd(), out)}\n`);

function table(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [f.name, formatValue(f), String(f.samples.length), spread(f), f.note ?? '']);
  const header = ['figure', 'median', 'runs', 'range', 'what it is'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `${cells.map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()}\n`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('');
}

function formatValue(f: Figure): string {
  if (f.unit === 'ratio') return `${f.median.toFixed(2)}x`;
  if (f.unit === 'KB') return `${f.median.toFixed(0)} KB`;
  return f.median >= 100 ? `${f.median.toFixed(0)} ms` : f.median >= 1 ? `${f.median.toFixed(1)} ms` : `${f.median.toFixed(2)} ms`;
}

function spread(f: Figure): string {
  if (f.samples.length < 2) return '';
  const min = Math.min(...f.samples);
  const max = Math.max(...f.samples);
  const digits = f.unit === 'ratio' || max < 1 ? 2 : max >= 100 ? 0 : 1;
  return `${min.toFixed(digits)}–${max.toFixed(digits)}`;
}

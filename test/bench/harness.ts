/** A small benchmark harness: warm up, time N runs, report the median (and the spread). */
import { performance } from 'node:perf_hooks';

export interface Benchmark {
  readonly name: string;
  /** What one run does, for the report. */
  readonly description: string;
  readonly iterations: number;
  setup?(): unknown;
  run(state: unknown): void | Promise<void>;
}

export interface BenchmarkResult {
  readonly name: string;
  readonly description: string;
  readonly iterations: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
}

export async function measure(b: Benchmark): Promise<BenchmarkResult> {
  const state = b.setup?.();
  for (let i = 0; i < Math.min(3, b.iterations); i++) await b.run(state);
  const times: number[] = [];
  for (let i = 0; i < b.iterations; i++) {
    const start = performance.now();
    await b.run(state);
    times.push(performance.now() - start);
  }
  times.sort((x, y) => x - y);
  const mid = Math.floor(times.length / 2);
  const median = times.length % 2 === 1 ? (times[mid] ?? 0) : ((times[mid - 1] ?? 0) + (times[mid] ?? 0)) / 2;
  return { name: b.name, description: b.description, iterations: b.iterations, medianMs: median, minMs: times[0] ?? 0, maxMs: times[times.length - 1] ?? 0 };
}

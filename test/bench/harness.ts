/**
 * The benchmark harness. A suite measures something several times and reports figures, each the
 * median of its samples; where a comparison is claimed, both sides are measured in the same run,
 * interleaved, so that the machine's state at the time affects them alike.
 */
import { performance } from 'node:perf_hooks';

export type Unit = 'ms' | 'KB' | 'ratio';

/** One reported figure: the median of its samples, which are kept for the JSON results. */
export interface Figure {
  /** Unique within the run, e.g. `pipeline: overhead, e-commerce deploy`. */
  readonly name: string;
  readonly unit: Unit;
  readonly median: number;
  readonly samples: readonly number[];
  /** What one sample is, or how the figure is derived, for the table and the docs. */
  readonly note?: string;
}

export interface BenchContext {
  /** Runs per figure: the suite's own default unless `--runs N` was given. */
  runs(defaultRuns: number): number;
  /** A progress line, on stderr: the table on stdout stays clean for piping. */
  progress(message: string): void;
}

export interface BenchSuite {
  /** Short, used to select suites: `npm run bench -- pipeline`. */
  readonly name: string;
  readonly description: string;
  run(ctx: BenchContext): Promise<Figure[]>;
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export function figure(name: string, unit: Unit, samples: readonly number[], note?: string): Figure {
  return { name, unit, median: median(samples), samples, ...(note === undefined ? {} : { note }) };
}

/** A ratio's samples: each pair measured in the same round, so their noise is shared. */
export function ratios(numerators: readonly number[], denominators: readonly number[]): number[] {
  return numerators.map((n, i) => n / (denominators[i] ?? Number.NaN));
}

/** Time one call, in milliseconds. */
export async function time(fn: () => unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Time `fn` `runs` times after `warmups` untimed calls; the samples, in order. */
export async function sample(runs: number, fn: () => unknown, warmups = 2): Promise<number[]> {
  for (let i = 0; i < warmups; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await time(fn));
  return samples;
}

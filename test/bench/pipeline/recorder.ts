/**
 * What the pipeline benchmarks learn from a local rack while it works, all on the `Date.now()`
 * clock: every event (with when it arrived), every build's `RUN` steps, and every service
 * process's start-up (spawned until its health check first passed).
 *
 * The rack exposes no timing of its own for these, so they are read from what it already tells
 * a listener: the builder's step lines (`Step 3/6 : RUN ...`, one per instruction, in order, for
 * each build unit), the runtime's `ready (...)` log line, and the process list's `startedAt`.
 */
import type { LocalRack, LocalRackOptions } from '../../../lib/local/rack/local-rack';
import type { LogLine } from '../../../lib/local/runtime/local-runtime';
import type { SlipwayEvent } from '../../../lib/pipeline/events';

export interface Interval {
  readonly start: number;
  readonly end: number;
}

export interface ArrivedEvent {
  /** `Date.now()` when the rack handed the event to its listeners. */
  readonly at: number;
  readonly event: SlipwayEvent;
}

export interface RunStep extends Interval {
  readonly app: string;
  readonly build: string;
  readonly services: string;
  readonly text: string;
}

export interface StartUp extends Interval {
  readonly app: string;
  readonly release: string;
  readonly process: string;
}

type BuildLine = Parameters<NonNullable<LocalRackOptions['onBuildOutput']>>[0];

const RUN_STEP = /^Step \d+\/\d+ : RUN\s/i;
const READY = /^ready \(/;

export class PipelineRecorder {
  readonly events: ArrivedEvent[] = [];
  readonly runSteps: RunStep[] = [];
  readonly startUps: StartUp[] = [];
  /** The step each build unit is on now, if it is a RUN step. */
  private readonly openRuns = new Map<string, { start: number; text: string }>();
  private rack?: LocalRack;

  /** The listeners to give `LocalRack.start`. */
  listeners(): Pick<LocalRackOptions, 'onEvent' | 'onLog' | 'onBuildOutput'> {
    return {
      onEvent: (event) => void this.events.push({ at: Date.now(), event }),
      onBuildOutput: (line) => this.buildLine(line),
      onLog: (line) => this.logLine(line),
    };
  }

  /** The rack whose process list gives each process's spawn time (known only once it started). */
  attach(rack: LocalRack): void {
    this.rack = rack;
  }

  /**
   * A unit's step lines come in order: a RUN step ends when its unit's next step line (the next
   * instruction, or `built ...`) is written, which the builder does as soon as the command exits.
   */
  private buildLine(line: BuildLine): void {
    if (line.stream !== 'step') return;
    const now = Date.now();
    const key = `${line.app}\0${line.build}\0${line.services.join(',')}`;
    const open = this.openRuns.get(key);
    if (open) {
      this.runSteps.push({ app: line.app, build: line.build, services: line.services.join(','), text: open.text, start: open.start, end: now });
      this.openRuns.delete(key);
    }
    if (RUN_STEP.test(line.text)) this.openRuns.set(key, { start: now, text: line.text });
  }

  /**
   * The runtime logs `ready (...)` when a process's health check first passes; its process list
   * says when that process was spawned. The list is computed when called (its promise only wraps
   * it), so it is read here, at the moment of the ready line.
   */
  private logLine(line: LogLine): void {
    if (line.stream !== 'system' || !READY.test(line.text) || !this.rack) return;
    const ready = Date.parse(line.time);
    void this.rack.runtime.listProcesses(line.app).then((processes) => {
      const started = processes.find((p) => p.id === line.process)?.startedAt;
      if (started) this.startUps.push({ app: line.app, release: line.release, process: line.process, start: Date.parse(started), end: ready });
    });
  }
}

/** Milliseconds during which at least one of the intervals ran (overlaps counted once). */
export function coveredMs(intervals: readonly Interval[]): number {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  let total = 0;
  let start = Number.NEGATIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const i of sorted) {
    if (i.start > end) {
      if (end > start) total += end - start;
      start = i.start;
      end = i.end;
    } else end = Math.max(end, i.end);
  }
  if (end > start) total += end - start;
  return total;
}

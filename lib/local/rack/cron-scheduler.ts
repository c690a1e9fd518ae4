/**
 * The local rack's Scheduler: the app timers' schedules kept in the state folder, and a clock
 * that starts each timer's run when its schedule matches the minute, as EventBridge Scheduler
 * does on AWS. The rack's own schedules (the daily cleanup) run on the same clock.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Scheduler } from '../../pipeline/ports/runtime';
import { scheduleProblems } from '../../pipeline/schedule-problems';
import type { CronSchedule } from './cron';
import { parseCron } from './cron';

type Schedules = Record<string, { name: string; schedule: string }[]>;

export interface CronSchedulerOptions {
  readonly file: string;
  /** Start a timer's run (the Timer machine). */
  readonly runTimer: (app: string, timer: string) => void;
  /** The rack's own schedules: a cron expression and what to start. */
  readonly rackSchedules?: readonly { readonly schedule: string; readonly run: () => void }[];
  readonly now?: () => number;
}

export class CronScheduler implements Scheduler {
  private schedules: Schedules = {};
  private timer?: NodeJS.Timeout;
  private lastMinute = -1;
  private saving: Promise<void> = Promise.resolve();
  private readonly rack: { cron: CronSchedule; run: () => void }[];

  constructor(private readonly options: CronSchedulerOptions) {
    this.rack = (options.rackSchedules ?? []).map((s) => ({ cron: parseCron(s.schedule), run: s.run }));
  }

  async start(): Promise<void> {
    try {
      this.schedules = JSON.parse(await readFile(this.options.file, 'utf8')) as Schedules;
    } catch {
      this.schedules = {};
    }
    this.lastMinute = Math.floor(this.now() / 60_000);
    // Checked every few seconds, fired once per minute: a busy event loop must not skip a minute.
    this.timer = setInterval(() => this.tick(), 5_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  problems(timers: readonly { readonly name: string; readonly schedule: string }[]): string[] {
    return scheduleProblems(timers, parseCron);
  }

  async reconcile(app: string, timers: readonly { readonly name: string; readonly schedule: string }[]): Promise<{ created: number; updated: number; deleted: number }> {
    for (const t of timers) parseCron(t.schedule);
    const before = new Map((this.schedules[app] ?? []).map((t) => [t.name, t.schedule]));
    const after = new Map(timers.map((t) => [t.name, t.schedule]));
    const created = [...after.keys()].filter((n) => !before.has(n)).length;
    const updated = [...after].filter(([n, s]) => before.has(n) && before.get(n) !== s).length;
    const deleted = [...before.keys()].filter((n) => !after.has(n)).length;
    if (timers.length === 0) delete this.schedules[app];
    else this.schedules[app] = timers.map((t) => ({ name: t.name, schedule: t.schedule }));
    await this.save();
    return { created, updated, deleted };
  }

  /** The schedules of an app (for `timers`). */
  list(app: string): readonly { name: string; schedule: string }[] {
    return this.schedules[app] ?? [];
  }

  /** Fire what is due in every minute since the last tick (once each). */
  tick(): void {
    const minute = Math.floor(this.now() / 60_000);
    for (let m = this.lastMinute + 1; m <= minute; m++) {
      const at = new Date(m * 60_000);
      for (const [app, timers] of Object.entries(this.schedules)) for (const t of timers) if (parseCron(t.schedule).matches(at)) this.options.runTimer(app, t.name);
      for (const s of this.rack) if (s.cron.matches(at)) s.run();
    }
    this.lastMinute = minute;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /**
   * One write at a time, each of the schedules as they are when it runs: many apps promoted at once
   * reconcile concurrently, and their writes would otherwise share (and rename away) one temp file.
   */
  private save(): Promise<void> {
    const write = async (): Promise<void> => {
      await mkdir(dirname(this.options.file), { recursive: true });
      const temp = `${this.options.file}.${process.pid}.tmp`;
      await writeFile(temp, JSON.stringify(this.schedules, null, 2));
      await rename(temp, this.options.file);
    };
    const next = this.saving.then(write, write);
    this.saving = next.catch(() => undefined);
    return next;
  }
}

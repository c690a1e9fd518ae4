/**
 * The AWS rack's Scheduler: one EventBridge Scheduler schedule per app timer, in the rack's
 * schedule group, each starting the Timer state machine with `{"app", "timer"}` on the timer's
 * schedule (in UTC, as the local rack's cron loop runs it).
 *
 * Convox timers are written in five-field cron; EventBridge Scheduler wants six fields,
 * `cron(minute hour day-of-month month day-of-week year)`, with `?` in exactly one of the day
 * fields and the days of the week numbered 1-7 from Sunday. `toSchedulerCron` converts, and
 * refuses (with a typed error) what EventBridge cannot express: classic cron runs on "day X of
 * the month *or* weekday Y" when both day fields are restricted, EventBridge has no such `or`.
 *
 * Schedules are named `<app>--<timer>` (names are at most 64 characters, letters, digits, `-`,
 * `_` and `.`): a name that would be too long or ambiguous (an app or timer name with `--` in
 * it) keeps a readable stem and ends in a hash of the app and timer, so it stays the same from
 * one deploy to the next. Which app a schedule belongs to is read from its input, never from its
 * name alone: the app `shop` lists the prefix `shop--` and must leave `shop--eu--nightly` (the app
 * `shop--eu`) alone.
 */
import { createHash } from 'node:crypto';
import type { GetScheduleOutput, SchedulerClient, Target } from '@aws-sdk/client-scheduler';
import { CreateScheduleCommand, DeleteScheduleCommand, GetScheduleCommand, ListSchedulesCommand, ResourceNotFoundException, UpdateScheduleCommand } from '@aws-sdk/client-scheduler';
import { SlipwayError } from '../../errors';
import { scheduleProblems } from '../../pipeline/schedule-problems';
import type { Scheduler } from '../../pipeline/ports/runtime';

/** A timer schedule that is not five-field cron, or that EventBridge Scheduler cannot express. */
export class ScheduleExpressionError extends SlipwayError {
  constructor(
    readonly schedule: string,
    problem: string,
    code: 'CRON_INVALID' | 'CRON_NOT_EXPRESSIBLE',
    readonly timer?: string,
  ) {
    super(`${timer === undefined ? '' : `timer ${timer}: `}schedule "${schedule}" ${code === 'CRON_INVALID' ? 'is not a five-field cron expression' : 'cannot be expressed as an EventBridge Scheduler cron expression'}: ${problem}`, code, {
      schedule,
      ...(timer === undefined ? {} : { timer }),
    });
  }
}

/** An app or timer name a schedule cannot be derived from, or two timers with the same name. */
export class ScheduleNameError extends SlipwayError {
  constructor(message: string, context: Record<string, unknown>) {
    super(message, 'SCHEDULE_NAME_INVALID', context);
  }
}

// ---------------------------------------------------------------------------------------------
// Five-field cron to EventBridge Scheduler cron

interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** The number the first name stands for (JAN = 1, SUN = 0). */
  readonly base?: number;
}

const MINUTE: Field = { name: 'minute', min: 0, max: 59 };
const HOUR: Field = { name: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: Field = { name: 'day of month', min: 1, max: 31 };
const MONTH: Field = { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'], base: 1 };
/** 0-7, both 0 and 7 are Sunday, as in classic cron and the local rack. */
const DAY_OF_WEEK: Field = { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'], base: 0 };

/** The values a field's text selects: `*`, lists, ranges, steps and names, as the local rack reads them. */
function parseField(schedule: string, text: string, field: Field, timer: string | undefined): Set<number> {
  const invalid = (problem: string): ScheduleExpressionError => new ScheduleExpressionError(schedule, problem, 'CRON_INVALID', timer);
  const value = (token: string): number => {
    const named = field.names ? field.names.indexOf(token.toUpperCase()) : -1;
    const n = named >= 0 ? named + (field.base ?? 0) : /^\d+$/.test(token) ? Number(token) : NaN;
    if (!Number.isInteger(n) || n < field.min || n > field.max) throw invalid(`${JSON.stringify(token)} is not a valid ${field.name} (${field.min}-${field.max})`);
    return n;
  };
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const parts = item.split('/');
    if (parts.length > 2) throw invalid(`${JSON.stringify(item)} has more than one step`);
    const [range = '', stepText] = parts;
    if (stepText !== undefined && !/^\d+$/.test(stepText)) throw invalid(`${JSON.stringify(item)} has a bad step`);
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) throw invalid(`${JSON.stringify(item)} has a bad step`);
    let from = field.min;
    let to = field.max;
    if (range !== '*' && range !== '?') {
      const bounds = range.split('-');
      if (bounds.length > 2) throw invalid(`${JSON.stringify(item)} is not a range`);
      const [a = '', b] = bounds;
      from = value(a);
      to = b === undefined ? (stepText === undefined ? from : field.max) : value(b);
      if (to < from) throw invalid(`${JSON.stringify(item)} runs backwards`);
    }
    for (let n = from; n <= to; n += step) out.add(n);
  }
  return out;
}

/**
 * A set of values as EventBridge cron text: `*` for all of them, `start/step` for a progression
 * that runs to the field's end (when steps are allowed), otherwise a list of values and ranges.
 */
function render(values: ReadonlySet<number>, min: number, max: number, steps: boolean): string {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === max - min + 1) return '*';
  const first = sorted[0];
  const second = sorted[1];
  if (steps && first !== undefined && second !== undefined && sorted.length >= 3) {
    const step = second - first;
    const progression = step > 1 && sorted.every((v, i) => v === first + i * step) && (sorted.at(-1) ?? max) + step > max;
    if (progression) return `${first}/${step}`;
  }
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    const start = sorted[i] as number;
    let end = start;
    while (sorted[i + 1] === end + 1) {
      end += 1;
      i += 1;
    }
    i += 1;
    if (end === start) parts.push(String(start));
    else if (end === start + 1) parts.push(`${start},${end}`);
    else parts.push(`${start}-${end}`);
  }
  return parts.join(',');
}

/**
 * Convert a five-field cron expression (minute hour day-of-month month day-of-week, UTC) into an
 * EventBridge Scheduler expression, `cron(minute hour day-of-month month day-of-week *)`.
 *
 * - Exactly one day field gets `?`: the one that is not restricted (`*`), day of week when neither is.
 * - Days of the week are renumbered for EventBridge: SUN is 1 there (0 and 7 here), SAT is 7.
 *   Names, ranges, lists and steps are all accepted and written out as numbers, lists and ranges
 *   (EventBridge allows no step in that field).
 * - When both day fields are restricted, classic cron runs on either; EventBridge cannot say that,
 *   so the schedule is refused (unless one of them selects every day anyway, which makes it `*`).
 *
 * Throws ScheduleExpressionError (`CRON_INVALID`, `CRON_NOT_EXPRESSIBLE`).
 */
export function toSchedulerCron(fiveField: string): string {
  return convert(fiveField, undefined);
}

function convert(fiveField: string, timer: string | undefined): string {
  const fields = fiveField.trim().split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5) throw new ScheduleExpressionError(fiveField, `it has ${fields.length} fields, not 5 (minute hour day-of-month month day-of-week)`, 'CRON_INVALID', timer);
  const [minuteText, hourText, domText, monthText, dowText] = fields as [string, string, string, string, string];
  const minutes = parseField(fiveField, minuteText, MINUTE, timer);
  const hours = parseField(fiveField, hourText, HOUR, timer);
  const days = parseField(fiveField, domText, DAY_OF_MONTH, timer);
  const months = parseField(fiveField, monthText, MONTH, timer);
  // Classic cron numbers SUN 0 (or 7) to SAT 6; EventBridge SUN 1 to SAT 7.
  const weekdays = new Set([...parseField(fiveField, dowText, DAY_OF_WEEK, timer)].map((d) => (d % 7) + 1));

  const minute = render(minutes, MINUTE.min, MINUTE.max, true);
  const hour = render(hours, HOUR.min, HOUR.max, true);
  const month = render(months, MONTH.min, MONTH.max, true);
  const dom = render(days, DAY_OF_MONTH.min, DAY_OF_MONTH.max, true);
  const dow = render(weekdays, 1, 7, false);

  // Restricted as classic cron (and the local rack) decide it: by the text, not by the values.
  const domRestricted = domText !== '*' && domText !== '?';
  const dowRestricted = dowText !== '*' && dowText !== '?';
  let dayFields: [string, string];
  if (domRestricted && dowRestricted) {
    // Either day matches: if one field selects every day, every day matches.
    if (dom === '*' || dow === '*') dayFields = ['*', '?'];
    else {
      throw new ScheduleExpressionError(
        fiveField,
        'it restricts both the day of month and the day of week (cron runs on either); EventBridge Scheduler allows only one of them, so use * for the other or split the timer in two',
        'CRON_NOT_EXPRESSIBLE',
        timer,
      );
    }
  } else if (dowRestricted) dayFields = ['?', dow];
  else dayFields = [dom, '?'];
  return `cron(${minute} ${hour} ${dayFields[0]} ${month} ${dayFields[1]} *)`;
}

// ---------------------------------------------------------------------------------------------
// Schedule names

/** EventBridge Scheduler's limits on a schedule name. */
const NAME_MAX = 64;
const NAME_CHARS = /^[0-9a-zA-Z_.-]+$/;
/** Apps longer than this are shortened (with a hash) in schedule names, so timers keep room. */
const APP_STEM_MAX = 40;
const HASH_LENGTH = 10;
const SEPARATOR = '--';

function hash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, HASH_LENGTH);
}

function checkName(kind: 'app' | 'timer', name: string): void {
  if (name === '' || !NAME_CHARS.test(name)) throw new ScheduleNameError(`${kind} name ${JSON.stringify(name)} cannot name a schedule: use letters, digits, '-', '_' and '.'`, { [kind]: name });
}

/** The part of an app's schedule names before `--`: the app's name, shortened with a hash when long. */
function appStem(app: string): string {
  if (app.length <= APP_STEM_MAX) return app;
  return `${app.slice(0, APP_STEM_MAX - HASH_LENGTH - 1).replace(/-+$/, '')}-${hash(app)}`;
}

/** What the app's schedule names start with (what ListSchedules filters on). */
export function scheduleNamePrefix(app: string): string {
  checkName('app', app);
  return `${appStem(app)}${SEPARATOR}`;
}

/**
 * The schedule name of an app's timer: `<app>--<timer>` when that fits in 64 characters and can
 * be read back unambiguously; otherwise `<app stem>--<start of timer>-<hash of app and timer>`.
 */
export function scheduleName(app: string, timer: string): string {
  checkName('timer', timer);
  const prefix = scheduleNamePrefix(app);
  const plain = `${prefix}${timer}`;
  if (plain.length <= NAME_MAX && prefix === `${app}${SEPARATOR}` && !app.includes(SEPARATOR) && !timer.includes(SEPARATOR)) return plain;
  const room = NAME_MAX - prefix.length - HASH_LENGTH - 1;
  const start = timer.slice(0, room).replace(/-+$/, '');
  return start === '' ? `${prefix}${hash(app, timer)}` : `${prefix}${start}-${hash(app, timer)}`;
}

// ---------------------------------------------------------------------------------------------
// The adapter

export interface EventBridgeTimerSchedulerOptions {
  /** The rack's schedule group (it must exist). */
  readonly groupName: string;
  /** The Timer state machine. */
  readonly targetArn: string;
  /** The role EventBridge Scheduler assumes to call states:StartExecution on the Timer machine. */
  readonly roleArn: string;
  /** ListSchedules page size (1-100); for tests of paging. */
  readonly pageSize?: number;
}

interface Desired {
  readonly name: string;
  readonly timer: string;
  readonly expression: string;
  readonly input: string;
}

const TIMEZONE = 'UTC';

export class EventBridgeTimerScheduler implements Scheduler {
  constructor(
    private readonly client: SchedulerClient,
    private readonly options: EventBridgeTimerSchedulerOptions,
  ) {}

  problems(timers: readonly { readonly name: string; readonly schedule: string }[]): string[] {
    return scheduleProblems(timers, toSchedulerCron);
  }

  async reconcile(app: string, timers: readonly { readonly name: string; readonly schedule: string }[]): Promise<{ created: number; updated: number; deleted: number }> {
    // Everything is checked before anything changes: a bad schedule leaves the old ones running.
    const desired = new Map<string, Desired>();
    const seen = new Set<string>();
    for (const t of timers) {
      if (seen.has(t.name)) throw new ScheduleNameError(`app ${app} has two timers named ${t.name}`, { app, timer: t.name });
      seen.add(t.name);
      const expression = convert(t.schedule, t.name);
      const name = scheduleName(app, t.name);
      desired.set(name, { name, timer: t.name, expression, input: timerInput(app, t.name) });
    }

    const existing = await this.existing(app);
    let created = 0;
    let updated = 0;
    let deleted = 0;
    for (const d of desired.values()) {
      const current = existing.get(d.name);
      if (!current) {
        await this.client.send(new CreateScheduleCommand(this.definition(d)));
        created += 1;
      } else if (!this.matches(current, d)) {
        await this.client.send(new UpdateScheduleCommand(this.definition(d)));
        updated += 1;
      }
    }
    for (const name of existing.keys()) {
      if (desired.has(name)) continue;
      try {
        await this.client.send(new DeleteScheduleCommand({ Name: name, GroupName: this.options.groupName }));
        deleted += 1;
      } catch (e) {
        // Already gone: what reconcile wanted.
        if (!(e instanceof ResourceNotFoundException)) throw e;
      }
    }
    return { created, updated, deleted };
  }

  /** The app's schedules in the group, by name: listed by prefix, kept only if their input names the app. */
  private async existing(app: string): Promise<Map<string, GetScheduleOutput>> {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListSchedulesCommand({
          GroupName: this.options.groupName,
          NamePrefix: scheduleNamePrefix(app),
          ...(this.options.pageSize === undefined ? {} : { MaxResults: this.options.pageSize }),
          ...(token === undefined ? {} : { NextToken: token }),
        }),
      );
      for (const s of page.Schedules ?? []) if (s.Name) names.push(s.Name);
      token = page.NextToken || undefined;
    } while (token !== undefined);

    const out = new Map<string, GetScheduleOutput>();
    for (const name of names) {
      let schedule: GetScheduleOutput;
      try {
        schedule = await this.client.send(new GetScheduleCommand({ Name: name, GroupName: this.options.groupName }));
      } catch (e) {
        // Deleted between the listing and now.
        if (e instanceof ResourceNotFoundException) continue;
        throw e;
      }
      if (inputApp(schedule.Target?.Input) === app) out.set(name, schedule);
    }
    return out;
  }

  private definition(d: Desired): {
    Name: string;
    GroupName: string;
    ScheduleExpression: string;
    ScheduleExpressionTimezone: string;
    State: 'ENABLED';
    FlexibleTimeWindow: { Mode: 'OFF' };
    Target: Target;
  } {
    return {
      Name: d.name,
      GroupName: this.options.groupName,
      ScheduleExpression: d.expression,
      ScheduleExpressionTimezone: TIMEZONE,
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: this.options.targetArn, RoleArn: this.options.roleArn, Input: d.input },
    };
  }

  /** Whether a schedule already does what the timer wants (anything else is put right by an update). */
  private matches(current: GetScheduleOutput, d: Desired): boolean {
    return (
      current.ScheduleExpression === d.expression &&
      (current.ScheduleExpressionTimezone ?? 'UTC') === TIMEZONE &&
      current.Target?.Input === d.input &&
      current.Target.Arn === this.options.targetArn &&
      current.Target.RoleArn === this.options.roleArn &&
      (current.State ?? 'ENABLED') === 'ENABLED' &&
      (current.FlexibleTimeWindow?.Mode ?? 'OFF') === 'OFF'
    );
  }
}

/** The Timer machine's input: `{"app","timer"}`, always written in this order. */
function timerInput(app: string, timer: string): string {
  return JSON.stringify({ app, timer });
}

/** The app a schedule's input names, if it is one of ours. */
function inputApp(input: string | undefined): string | undefined {
  if (input === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(input);
    if (parsed && typeof parsed === 'object' && typeof (parsed as { app?: unknown }).app === 'string' && typeof (parsed as { timer?: unknown }).timer === 'string') return (parsed as { app: string }).app;
  } catch {
    // Not JSON: not ours.
  }
  return undefined;
}

/**
 * Five-field cron expressions as Convox timers write them (minute, hour, day of month, month,
 * day of week; `*`, lists, ranges, steps, month and day names), evaluated in UTC like the
 * EventBridge schedules the AWS rack creates. When both day fields are restricted, a day
 * matches either, as in classic cron.
 */
import { SlipwayError } from '../../errors';

export class CronError extends SlipwayError {
  constructor(expression: string, problem: string) {
    super(`schedule "${expression}" is not a cron expression the local rack understands: ${problem}`, 'CRON_INVALID', { schedule: expression });
  }
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'], base: 1 },
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'], base: 0 },
] as const;

export interface CronSchedule {
  readonly expression: string;
  matches(date: Date): boolean;
}

export function parseCron(expression: string): CronSchedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new CronError(expression, `it has ${parts.length} fields, not 5`);
  const sets = parts.map((part, i) => parseField(expression, part, FIELDS[i] as (typeof FIELDS)[number]));
  const [minutes, hours, days, months, weekdays] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (weekdays.has(7)) weekdays.add(0);
  const dayRestricted = parts[2] !== '*' && parts[2] !== '?';
  const weekdayRestricted = parts[4] !== '*' && parts[4] !== '?';
  return {
    expression,
    matches(date: Date): boolean {
      if (!minutes.has(date.getUTCMinutes()) || !hours.has(date.getUTCHours()) || !months.has(date.getUTCMonth() + 1)) return false;
      const day = days.has(date.getUTCDate());
      const weekday = weekdays.has(date.getUTCDay());
      return dayRestricted && weekdayRestricted ? day || weekday : day && weekday;
    },
  };
}

function parseField(expression: string, text: string, field: (typeof FIELDS)[number]): Set<number> {
  const out = new Set<number>();
  const value = (token: string): number => {
    const names: readonly string[] = 'names' in field ? field.names : [];
    const named = names.indexOf(token.toUpperCase());
    // Month names count from 1, day names from 0 (Sunday): the field's minimum.
    const n = named >= 0 ? named + (field.name === 'month' ? 1 : 0) : /^\d+$/.test(token) ? Number(token) : NaN;
    if (!Number.isInteger(n) || n < field.min || n > field.max) throw new CronError(expression, `${JSON.stringify(token)} is not a valid ${field.name} (${field.min}-${field.max})`);
    return n;
  };
  for (const item of text.split(',')) {
    const [range = '', stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new CronError(expression, `${JSON.stringify(item)} has a bad step`);
    let [from, to] = [field.min as number, field.max as number];
    if (range !== '*' && range !== '?') {
      const [a = '', b] = range.split('-');
      from = value(a);
      to = b === undefined ? (stepText === undefined ? from : field.max) : value(b);
      if (to < from) throw new CronError(expression, `${JSON.stringify(item)} runs backwards`);
    }
    for (let n = from; n <= to; n += step) out.add(n);
  }
  return out;
}

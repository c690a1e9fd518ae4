/** The AWS rack's Scheduler: timers as EventBridge Scheduler schedules, and five-field cron converted for them (EventBridge Scheduler: aws-sdk-client-mock). */
import type { CreateScheduleInput, DeleteScheduleInput, GetScheduleInput, GetScheduleOutput, ListSchedulesInput, UpdateScheduleInput } from '@aws-sdk/client-scheduler';
import { CreateScheduleCommand, DeleteScheduleCommand, GetScheduleCommand, ListSchedulesCommand, ResourceNotFoundException, SchedulerClient, UpdateScheduleCommand } from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventBridgeTimerScheduler, ScheduleExpressionError, ScheduleNameError, scheduleName, scheduleNamePrefix, toSchedulerCron } from '../../lib/aws/adapters/eventbridge-scheduler';
import { parseCron } from '../../lib/local/rack/cron';
import { CronScheduler } from '../../lib/local/rack/cron-scheduler';
import { normaliseSchedule } from '../../lib/manifest/defaults';

const GROUP = 'slipway-timers';
const TARGET = 'arn:aws:states:us-east-1:111122223333:stateMachine:Timer';
const ROLE = 'arn:aws:iam::111122223333:role/slipway-scheduler';

const mock = mockClient(SchedulerClient);
const client = new SchedulerClient({ region: 'us-east-1' });

/** The group's schedules, as EventBridge Scheduler would keep them. */
let store: Map<string, GetScheduleOutput>;

function installFakeScheduler(): void {
  mock.on(ListSchedulesCommand).callsFake((input: ListSchedulesInput) => {
    const names = [...store.values()]
      .filter((s) => s.GroupName === input.GroupName && (s.Name ?? '').startsWith(input.NamePrefix ?? ''))
      .map((s) => s.Name ?? '')
      .sort();
    const start = input.NextToken ? Number(input.NextToken) : 0;
    const size = input.MaxResults ?? 100;
    const next = start + size < names.length ? String(start + size) : undefined;
    return { Schedules: names.slice(start, start + size).map((Name) => ({ Name, GroupName: input.GroupName, State: 'ENABLED', Target: { Arn: TARGET } })), ...(next ? { NextToken: next } : {}) };
  });
  mock.on(GetScheduleCommand).callsFake((input: GetScheduleInput) => {
    const s = store.get(`${input.GroupName}/${input.Name}`);
    if (!s) throw notFound(input.Name);
    return s;
  });
  mock.on(CreateScheduleCommand).callsFake((input: CreateScheduleInput) => {
    store.set(`${input.GroupName}/${input.Name}`, { ...input, Arn: `arn:aws:scheduler:us-east-1:111122223333:schedule/${input.GroupName}/${input.Name}` });
    return { ScheduleArn: `arn:aws:scheduler:us-east-1:111122223333:schedule/${input.GroupName}/${input.Name}` };
  });
  mock.on(UpdateScheduleCommand).callsFake((input: UpdateScheduleInput) => {
    store.set(`${input.GroupName}/${input.Name}`, { ...input });
    return { ScheduleArn: 'arn:x' };
  });
  mock.on(DeleteScheduleCommand).callsFake((input: DeleteScheduleInput) => {
    if (!store.delete(`${input.GroupName}/${input.Name}`)) throw notFound(input.Name);
    return {};
  });
}

/** A schedule put in the group by hand (or by an earlier deploy). */
function seed(name: string, expression: string, input: unknown, extra: Partial<GetScheduleOutput> = {}): void {
  store.set(`${GROUP}/${name}`, {
    Name: name,
    GroupName: GROUP,
    ScheduleExpression: expression,
    ScheduleExpressionTimezone: 'UTC',
    State: 'ENABLED',
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: { Arn: TARGET, RoleArn: ROLE, Input: typeof input === 'string' ? input : JSON.stringify(input) },
    ...extra,
  });
}

const adapter = (pageSize?: number): EventBridgeTimerScheduler => new EventBridgeTimerScheduler(client, { groupName: GROUP, targetArn: TARGET, roleArn: ROLE, ...(pageSize === undefined ? {} : { pageSize }) });
/** The requests of each kind made so far. */
const sent = {
  list: (): ListSchedulesInput[] => mock.commandCalls(ListSchedulesCommand).map((c) => c.args[0].input),
  get: (): GetScheduleInput[] => mock.commandCalls(GetScheduleCommand).map((c) => c.args[0].input),
  create: (): CreateScheduleInput[] => mock.commandCalls(CreateScheduleCommand).map((c) => c.args[0].input),
  update: (): UpdateScheduleInput[] => mock.commandCalls(UpdateScheduleCommand).map((c) => c.args[0].input),
  delete: (): DeleteScheduleInput[] => mock.commandCalls(DeleteScheduleCommand).map((c) => c.args[0].input),
};

const notFound = (name: string | undefined): ResourceNotFoundException => new ResourceNotFoundException({ message: `Schedule ${name} does not exist.`, Message: `Schedule ${name} does not exist.`, $metadata: {} });

describe('toSchedulerCron: five-field cron to EventBridge Scheduler cron (pure: no AWS calls)', () => {
  it.each([
    ['*/5 * * * *', 'cron(0/5 * * * ? *)'],
    ['0 3 * * *', 'cron(0 3 * * ? *)'],
    ['0 9 * * 1-5', 'cron(0 9 ? * 2-6 *)'],
    ['0 0 1 * *', 'cron(0 0 1 * ? *)'],
    ['0 9 * * MON-FRI', 'cron(0 9 ? * 2-6 *)'],
    ['0 9 * * mon-fri', 'cron(0 9 ? * 2-6 *)'],
    ['* * * * *', 'cron(* * * * ? *)'],
    ['0 12 * * 0', 'cron(0 12 ? * 1 *)'],
    ['0 12 * * 7', 'cron(0 12 ? * 1 *)'],
    ['0 12 * * SUN', 'cron(0 12 ? * 1 *)'],
    ['0 12 * * 6', 'cron(0 12 ? * 7 *)'],
    ['0 12 * * SAT,SUN', 'cron(0 12 ? * 1,7 *)'],
    ['0 12 * * 5-7', 'cron(0 12 ? * 1,6,7 *)'],
    ['0 12 * * 0-6', 'cron(0 12 ? * * *)'],
    ['0 12 * * */2', 'cron(0 12 ? * 1,3,5,7 *)'],
    ['0 12 * * 1,3,5', 'cron(0 12 ? * 2,4,6 *)'],
    ['15 */6 * * *', 'cron(15 0/6 * * ? *)'],
    ['5/15 * * * *', 'cron(5/15 * * * ? *)'],
    ['0-30/10 * * * *', 'cron(0,10,20,30 * * * ? *)'],
    ['0 9-17 * * *', 'cron(0 9-17 * * ? *)'],
    ['0 0 */2 * *', 'cron(0 0 1/2 * ? *)'],
    ['0 0 1-7 * *', 'cron(0 0 1-7 * ? *)'],
    ['30 2 1 JAN,JUL *', 'cron(30 2 1 1,7 ? *)'],
    ['0 0 1 */3 *', 'cron(0 0 1 1/3 ? *)'],
    ['0 0 ? * 1', 'cron(0 0 ? * 2 *)'],
    ['  0   3 * * *  ', 'cron(0 3 * * ? *)'],
    // Both day fields restricted, but one of them selects every day: classic cron's "either" is every day.
    ['0 0 1 * 0-6', 'cron(0 0 * * ? *)'],
    ['0 0 1-31 * 1', 'cron(0 0 * * ? *)'],
  ])('%s -> %s', (five, expected) => {
    expect(toSchedulerCron(five)).toBe(expected);
  });

  it('fires on exactly the minutes the local rack fires on (UTC: every 7th minute of a year, every minute of some days)', () => {
    const expressions = ['*/5 * * * *', '0 3 * * *', '0 9 * * 1-5', '0 0 1 * *', '0 9 * * MON-FRI', '0 12 * * 5-7', '0 12 * * */2', '15 */6 * * *', '5/15 * * * *', '0-30/10 * * * *', '0 0 */2 * *', '30 2 1 JAN,JUL *', '0 0 1 */3 *', '0 0 1 * 0-6', '45 23 29 2 *', '0 8 * 6-8 SAT,SUN'];
    const instants: number[] = [];
    // 7 is prime to 60 and to 1440, so the samples go round every minute of the day.
    for (let t = Date.UTC(2027, 0, 1); t < Date.UTC(2028, 0, 1); t += 7 * 60_000) instants.push(t);
    // Whole days where the rarer schedules fire: first of months and quarters, a weekend in June, a leap day.
    for (const day of [Date.UTC(2027, 0, 1), Date.UTC(2027, 0, 2), Date.UTC(2027, 0, 3), Date.UTC(2027, 0, 4), Date.UTC(2027, 3, 1), Date.UTC(2027, 5, 5), Date.UTC(2027, 6, 1), Date.UTC(2028, 1, 29)]) {
      for (let m = 0; m < 1440; m++) instants.push(day + m * 60_000);
    }
    for (const five of expressions) {
      const local = parseCron(five);
      const aws = evaluateSchedulerCron(toSchedulerCron(five));
      let fired = 0;
      for (const t of instants) {
        const at = new Date(t);
        const expected = local.matches(at);
        if (aws(at) !== expected) throw new Error(`${five} -> ${toSchedulerCron(five)} disagrees with the local rack at ${at.toISOString()}`);
        if (expected) fired += 1;
      }
      expect(fired, five).toBeGreaterThan(0);
    }
  });

  it('converts what normaliseSchedule leaves of a six-field schedule or one with ?', () => {
    expect(toSchedulerCron(normaliseSchedule('0 9 ? * MON-FRI *'))).toBe('cron(0 9 ? * 2-6 *)');
    expect(toSchedulerCron(normaliseSchedule('0 3 * * ? 2027'))).toBe('cron(0 3 * * ? *)');
  });

  it('refuses a schedule that restricts both the day of month and the day of week (cron runs on either)', () => {
    const error = captureError(() => toSchedulerCron('0 0 1 * 1-5'));
    expect(error).toBeInstanceOf(ScheduleExpressionError);
    expect(error).toMatchObject({ code: 'CRON_NOT_EXPRESSIBLE', schedule: '0 0 1 * 1-5', context: { schedule: '0 0 1 * 1-5' } });
    expect((error as Error).message).toContain('both the day of month and the day of week');
  });

  it.each(['* * * *', '* * * * * *', '@daily', '', '61 * * * *', '0 24 * * *', '0 0 0 * *', '0 0 32 * *', '0 0 * 13 *', '0 0 * * 8', '0 0 L * *', '0 0 * * 1#2', '0 0 1W * *', '5-1 * * * *', '*/0 * * * *', '*/x * * * *', '1/2/3 * * * *', '1-2-3 * * * *', '0 0 * FOO *', '0 0 * * FUNDAY'])(
    'refuses %j as not five-field cron',
    (text) => {
      const error = captureError(() => toSchedulerCron(text));
      expect(error).toBeInstanceOf(ScheduleExpressionError);
      expect(error).toMatchObject({ code: 'CRON_INVALID' });
    },
  );
});

describe('schedule names (pure: no AWS calls)', () => {
  it('are <app>--<timer> when that fits, under the app prefix', () => {
    expect(scheduleName('shop', 'nightly')).toBe('shop--nightly');
    expect(scheduleNamePrefix('shop')).toBe('shop--');
  });

  it('hash long names down to 64 characters, stably, keeping the prefix and a readable start', () => {
    const timer = `cleanup-${'x'.repeat(80)}`;
    const name = scheduleName('shop', timer);
    expect(name.length).toBeLessThanOrEqual(64);
    expect(name).toMatch(/^shop--cleanup-x+-[0-9a-f]{10}$/);
    expect(scheduleName('shop', timer)).toBe(name);
    expect(scheduleName('shop', `${timer}y`)).not.toBe(name);
    expect(scheduleName('shop', `${timer}y`).length).toBeLessThanOrEqual(64);
  });

  it('hash names that would be ambiguous (-- in the app or the timer)', () => {
    // shop--eu's "nightly" and shop's "eu--nightly" would both be shop--eu--nightly.
    const a = scheduleName('shop--eu', 'nightly');
    const b = scheduleName('shop', 'eu--nightly');
    expect(a).not.toBe(b);
    expect(a.startsWith('shop--eu--')).toBe(true);
    expect(b.startsWith('shop--')).toBe(true);
  });

  it('shorten a long app name with a hash so its prefix stays a valid NamePrefix and timers keep room', () => {
    const app = `a${'b'.repeat(62)}`;
    const prefix = scheduleNamePrefix(app);
    expect(prefix.length).toBeLessThanOrEqual(64);
    expect(prefix).not.toBe(scheduleNamePrefix(`${app.slice(0, -1)}c`));
    const name = scheduleName(app, 'nightly');
    expect(name.startsWith(prefix)).toBe(true);
    expect(name.length).toBeLessThanOrEqual(64);
    expect(name).toMatch(/^[0-9a-zA-Z_.-]+$/);
  });

  it('refuse a name with characters a schedule name cannot hold', () => {
    expect(() => scheduleName('shop', 'night ly')).toThrow(ScheduleNameError);
    expect(() => scheduleNamePrefix('')).toThrow(ScheduleNameError);
  });
});

describe('EventBridgeTimerScheduler (EventBridge Scheduler: aws-sdk-client-mock)', () => {
  beforeEach(() => {
    mock.reset();
    store = new Map();
    installFakeScheduler();
  });

  it('creates a schedule per timer: cron converted, UTC, no flexible window, the Timer machine with {app, timer}', async () => {
    const result = await adapter().reconcile('shop', [
      { name: 'nightly', schedule: '0 3 * * *' },
      { name: 'weekdays', schedule: '0 9 * * MON-FRI' },
    ]);
    expect(result).toEqual({ created: 2, updated: 0, deleted: 0 });
    expect(sent.list()).toEqual([{ GroupName: GROUP, NamePrefix: 'shop--' }]);
    const created = sent.create();
    expect(created).toEqual([
      {
        Name: 'shop--nightly',
        GroupName: GROUP,
        ScheduleExpression: 'cron(0 3 * * ? *)',
        ScheduleExpressionTimezone: 'UTC',
        State: 'ENABLED',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: { Arn: TARGET, RoleArn: ROLE, Input: '{"app":"shop","timer":"nightly"}' },
      },
      {
        Name: 'shop--weekdays',
        GroupName: GROUP,
        ScheduleExpression: 'cron(0 9 ? * 2-6 *)',
        ScheduleExpressionTimezone: 'UTC',
        State: 'ENABLED',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: { Arn: TARGET, RoleArn: ROLE, Input: '{"app":"shop","timer":"weekdays"}' },
      },
    ]);
    expect(JSON.parse(created[0]?.Target?.Input ?? '')).toEqual({ app: 'shop', timer: 'nightly' });
    expect(mock.commandCalls(UpdateScheduleCommand)).toHaveLength(0);
    expect(mock.commandCalls(DeleteScheduleCommand)).toHaveLength(0);
  });

  it('creates, updates and deletes to fit, and leaves alone what already matches', async () => {
    seed('shop--same', 'cron(0 3 * * ? *)', { app: 'shop', timer: 'same' });
    seed('shop--moved', 'cron(0 4 * * ? *)', { app: 'shop', timer: 'moved' });
    seed('shop--gone', 'cron(0 5 * * ? *)', { app: 'shop', timer: 'gone' });
    const result = await adapter().reconcile('shop', [
      { name: 'same', schedule: '0 3 * * *' },
      { name: 'moved', schedule: '30 4 * * *' },
      { name: 'new', schedule: '*/5 * * * *' },
    ]);
    expect(result).toEqual({ created: 1, updated: 1, deleted: 1 });
    expect(sent.create().map((c) => [c.Name, c.ScheduleExpression])).toEqual([['shop--new', 'cron(0/5 * * * ? *)']]);
    expect(sent.update()).toEqual([
      {
        Name: 'shop--moved',
        GroupName: GROUP,
        ScheduleExpression: 'cron(30 4 * * ? *)',
        ScheduleExpressionTimezone: 'UTC',
        State: 'ENABLED',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: { Arn: TARGET, RoleArn: ROLE, Input: '{"app":"shop","timer":"moved"}' },
      },
    ]);
    expect(sent.delete()).toEqual([{ Name: 'shop--gone', GroupName: GROUP }]);
    expect(sent.get().map((c) => c.Name).sort()).toEqual(['shop--gone', 'shop--moved', 'shop--same']);

    // A second reconcile with the same timers changes nothing.
    mock.resetHistory();
    expect(await adapter().reconcile('shop', [{ name: 'same', schedule: '0 3 * * *' }, { name: 'moved', schedule: '30 4 * * *' }, { name: 'new', schedule: '*/5 * * * *' }])).toEqual({ created: 0, updated: 0, deleted: 0 });
    expect(mock.commandCalls(CreateScheduleCommand)).toHaveLength(0);
    expect(mock.commandCalls(UpdateScheduleCommand)).toHaveLength(0);
    expect(mock.commandCalls(DeleteScheduleCommand)).toHaveLength(0);
  });

  it('updates a schedule whose input, time zone, target, role or state is not what the timer wants', async () => {
    seed('shop--input', 'cron(0 3 * * ? *)', { app: 'shop', timer: 'input', extra: true });
    seed('shop--zone', 'cron(0 3 * * ? *)', { app: 'shop', timer: 'zone' }, { ScheduleExpressionTimezone: 'Europe/Paris' });
    seed('shop--target', 'cron(0 3 * * ? *)', { app: 'shop', timer: 'target' }, { Target: { Arn: `${TARGET}-old`, RoleArn: ROLE, Input: '{"app":"shop","timer":"target"}' } });
    seed('shop--role', 'cron(0 3 * * ? *)', { app: 'shop', timer: 'role' }, { Target: { Arn: TARGET, RoleArn: `${ROLE}-old`, Input: '{"app":"shop","timer":"role"}' } });
    seed('shop--state', 'cron(0 3 * * ? *)', { app: 'shop', timer: 'state' }, { State: 'DISABLED' });
    const timers = ['input', 'zone', 'target', 'role', 'state'].map((name) => ({ name, schedule: '0 3 * * *' }));
    expect(await adapter().reconcile('shop', timers)).toEqual({ created: 0, updated: 5, deleted: 0 });
    for (const u of sent.update()) {
      expect(u).toMatchObject({ ScheduleExpressionTimezone: 'UTC', State: 'ENABLED', Target: { Arn: TARGET, RoleArn: ROLE } });
      expect(JSON.parse(u.Target?.Input ?? '')).toEqual({ app: 'shop', timer: u.Name?.replace('shop--', '') });
    }
  });

  it('follows ListSchedules pages (NextToken) and sees schedules on every page', async () => {
    for (let i = 0; i < 7; i++) seed(`shop--t${i}`, 'cron(0 3 * * ? *)', { app: 'shop', timer: `t${i}` });
    const result = await adapter(3).reconcile('shop', [{ name: 't6', schedule: '0 3 * * *' }]);
    expect(result).toEqual({ created: 0, updated: 0, deleted: 6 });
    expect(sent.list()).toEqual([
      { GroupName: GROUP, NamePrefix: 'shop--', MaxResults: 3 },
      { GroupName: GROUP, NamePrefix: 'shop--', MaxResults: 3, NextToken: '3' },
      { GroupName: GROUP, NamePrefix: 'shop--', MaxResults: 3, NextToken: '6' },
    ]);
    expect(sent.delete().map((d) => d.Name)).toEqual(['shop--t0', 'shop--t1', 'shop--t2', 'shop--t3', 'shop--t4', 'shop--t5']);
    expect([...store.keys()]).toEqual([`${GROUP}/shop--t6`]);
  });

  it("leaves alone another app's schedules that share the prefix, and schedules that are not Slipway's", async () => {
    seed('shop--eu--nightly', 'cron(0 3 * * ? *)', { app: 'shop--eu', timer: 'nightly' });
    seed('shop--by-hand', 'cron(0 3 * * ? *)', 'not json');
    seed('shop--old', 'cron(0 3 * * ? *)', { app: 'shop', timer: 'old' });
    expect(await adapter().reconcile('shop', [])).toEqual({ created: 0, updated: 0, deleted: 1 });
    expect(sent.delete()).toEqual([{ Name: 'shop--old', GroupName: GROUP }]);
    expect([...store.keys()].sort()).toEqual([`${GROUP}/shop--by-hand`, `${GROUP}/shop--eu--nightly`]);
  });

  it('names long timers with a hash and finds them again on the next reconcile', async () => {
    const timer = `report-${'z'.repeat(70)}`;
    expect(await adapter().reconcile('shop', [{ name: timer, schedule: '0 1 * * *' }])).toEqual({ created: 1, updated: 0, deleted: 0 });
    const [created] = sent.create();
    expect(created?.Name).toBe(scheduleName('shop', timer));
    expect(created?.Name?.length).toBeLessThanOrEqual(64);
    expect(JSON.parse(created?.Target?.Input ?? '')).toEqual({ app: 'shop', timer });
    expect(await adapter().reconcile('shop', [{ name: timer, schedule: '0 2 * * *' }])).toEqual({ created: 0, updated: 1, deleted: 0 });
  });

  it('checks every schedule before changing anything: an inexpressible one changes nothing and names its timer', async () => {
    seed('shop--gone', 'cron(0 5 * * ? *)', { app: 'shop', timer: 'gone' });
    const error = await adapter()
      .reconcile('shop', [
        { name: 'fine', schedule: '0 3 * * *' },
        { name: 'either', schedule: '0 0 1 * MON' },
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScheduleExpressionError);
    expect(error).toMatchObject({ code: 'CRON_NOT_EXPRESSIBLE', timer: 'either', context: { timer: 'either', schedule: '0 0 1 * MON' } });
    expect((error as Error).message).toMatch(/^timer either: schedule "0 0 1 \* MON"/);
    expect(mock.calls()).toHaveLength(0);
    expect(store.size).toBe(1);
  });

  it('refuses two timers with the same name', async () => {
    await expect(
      adapter().reconcile('shop', [
        { name: 'dup', schedule: '0 3 * * *' },
        { name: 'dup', schedule: '0 4 * * *' },
      ]),
    ).rejects.toBeInstanceOf(ScheduleNameError);
    expect(mock.calls()).toHaveLength(0);
  });

  it('counts a schedule deleted by someone else meanwhile as already gone', async () => {
    seed('shop--gone', 'cron(0 5 * * ? *)', { app: 'shop', timer: 'gone' });
    mock.on(DeleteScheduleCommand).rejects(notFound('shop--gone'));
    expect(await adapter().reconcile('shop', [])).toEqual({ created: 0, updated: 0, deleted: 0 });
  });

  it('skips a schedule listed but deleted before it could be read', async () => {
    seed('shop--gone', 'cron(0 5 * * ? *)', { app: 'shop', timer: 'gone' });
    mock.on(GetScheduleCommand).rejects(notFound('shop--gone'));
    expect(await adapter().reconcile('shop', [])).toEqual({ created: 0, updated: 0, deleted: 0 });
    expect(mock.commandCalls(DeleteScheduleCommand)).toHaveLength(0);
  });
});

/**
 * An EventBridge cron expression evaluated in UTC, as the service documents it (written for the
 * test, independently of the adapter): `*`, `?`, lists, ranges and `start/step`; day of week
 * numbered 1 (SUN) to 7 (SAT).
 */
function evaluateSchedulerCron(expression: string): (at: Date) => boolean {
  const m = /^cron\((.*)\)$/.exec(expression);
  const fields = m?.[1]?.split(' ') ?? [];
  expect(fields).toHaveLength(6);
  const [minute, hour, dom, month, dow, year] = fields as [string, string, string, string, string, string];
  expect(year).toBe('*');
  expect([dom, dow].filter((f) => f === '?')).toHaveLength(1);
  expect(dow).not.toContain('/');
  const field = (text: string, min: number, max: number): ((n: number) => boolean) => {
    if (text === '*' || text === '?') return () => true;
    const set = new Set<number>();
    for (const item of text.split(',')) {
      const [range = '', step] = item.split('/');
      const [a = '', b] = range.split('-');
      const from = Number(a);
      const to = step !== undefined ? max : b !== undefined ? Number(b) : from;
      expect(from).toBeGreaterThanOrEqual(min);
      expect(to).toBeLessThanOrEqual(max);
      for (let n = from; n <= to; n += step === undefined ? 1 : Number(step)) set.add(n);
    }
    return (n) => set.has(n);
  };
  const [mi, h, d, mo, w] = [field(minute, 0, 59), field(hour, 0, 23), field(dom, 1, 31), field(month, 1, 12), field(dow, 1, 7)];
  return (at) => mi(at.getUTCMinutes()) && h(at.getUTCHours()) && d(at.getUTCDate()) && mo(at.getUTCMonth() + 1) && w(at.getUTCDay() + 1);
}

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('schedule problems, checked before a build (both racks)', () => {
  it('names each timer whose schedule EventBridge cannot run, and the local rack\u2019s cron parser agrees on what is valid', () => {
    const timers = [
      { name: 'ok', schedule: '*/5 * * * *' },
      { name: 'both-days', schedule: '0 0 1 * 1' },
      { name: 'bad', schedule: '61 * * * *' },
    ];
    const aws = new EventBridgeTimerScheduler(new SchedulerClient({ region: 'us-east-1' }), { groupName: 'g', targetArn: 'arn:aws:states:us-east-1:1:stateMachine:Timer', roleArn: 'arn:aws:iam::1:role/r' });
    const awsProblems = aws.problems(timers);
    expect(awsProblems).toHaveLength(2);
    expect(awsProblems[0]).toMatch(/^timer both-days: /);
    expect(awsProblems[1]).toMatch(/^timer bad: /);
    const local = new CronScheduler({ file: '/nonexistent/schedules.json', runTimer: () => undefined });
    expect(local.problems(timers)).toEqual([expect.stringMatching(/^timer bad: schedule "61 \* \* \* \*" is not a cron expression/)]);
  });
});

/** The AWS rack's AlarmMonitor: which of a gate's alarms are in ALARM, and no passing on a name CloudWatch does not know (CloudWatch: aws-sdk-client-mock). */
import type { DescribeAlarmsInput, StateValue } from '@aws-sdk/client-cloudwatch';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudWatchAlarmMonitor, UnknownAlarmError } from '../../lib/aws/adapters/cloudwatch-alarm-monitor';

const cloudwatch = mockClient(CloudWatchClient);
const client = new CloudWatchClient({ region: 'us-east-1' });
const monitor = new CloudWatchAlarmMonitor(client);

type Kind = 'metric' | 'composite' | 'log';

/** A fake CloudWatch holding these alarms; pages of `pageSize` alarms. */
function alarms(defined: Readonly<Record<string, { state: StateValue; kind?: Kind }>>, pageSize = 100): void {
  cloudwatch.on(DescribeAlarmsCommand).callsFake((input: DescribeAlarmsInput) => {
    const types = input.AlarmTypes ?? ['MetricAlarm'];
    const kinds = { metric: 'MetricAlarm', composite: 'CompositeAlarm', log: 'LogAlarm' } as const;
    const found = (input.AlarmNames ?? []).filter((n) => defined[n] !== undefined && types.includes(kinds[defined[n]?.kind ?? 'metric']));
    const start = input.NextToken ? Number(input.NextToken) : 0;
    const page = found.slice(start, start + pageSize);
    const of = (kind: Kind) => page.filter((n) => (defined[n]?.kind ?? 'metric') === kind).map((n) => ({ AlarmName: n, StateValue: defined[n]?.state }));
    return {
      MetricAlarms: of('metric'),
      CompositeAlarms: of('composite'),
      LogAlarms: of('log'),
      ...(start + pageSize < found.length ? { NextToken: String(start + pageSize) } : {}),
    };
  });
}

const requests = (): DescribeAlarmsInput[] => cloudwatch.commandCalls(DescribeAlarmsCommand).map((c) => c.args[0].input);

describe('CloudWatchAlarmMonitor (CloudWatch: aws-sdk-client-mock)', () => {
  beforeEach(() => cloudwatch.reset());

  it('returns the names in ALARM, in the order asked, among metric, composite and log alarms', async () => {
    alarms({
      'shop-5xx': { state: 'ALARM' },
      'shop-latency': { state: 'OK' },
      'shop-health': { state: 'ALARM', kind: 'composite' },
      'shop-errors-in-logs': { state: 'ALARM', kind: 'log' },
      'shop-new': { state: 'INSUFFICIENT_DATA' },
    });
    const firing = await monitor.firing(['shop-latency', 'shop-health', 'shop-5xx', 'shop-new', 'shop-errors-in-logs']);
    expect(firing).toEqual(['shop-health', 'shop-5xx', 'shop-errors-in-logs']);
    expect(requests()).toEqual([
      {
        AlarmNames: ['shop-latency', 'shop-health', 'shop-5xx', 'shop-new', 'shop-errors-in-logs'],
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm', 'LogAlarm'],
        MaxRecords: 100,
      },
    ]);
  });

  it('returns nothing when every alarm is OK', async () => {
    alarms({ a: { state: 'OK' }, b: { state: 'INSUFFICIENT_DATA', kind: 'composite' } });
    expect(await monitor.firing(['a', 'b'])).toEqual([]);
  });

  it('asks nothing for no names', async () => {
    alarms({});
    expect(await monitor.firing([])).toEqual([]);
    expect(requests()).toHaveLength(0);
  });

  it('asks about at most 100 names a request', async () => {
    const defined: Record<string, { state: StateValue }> = {};
    const names = Array.from({ length: 250 }, (_, i) => `alarm-${i}`);
    names.forEach((n, i) => (defined[n] = { state: i % 50 === 0 ? 'ALARM' : 'OK' }));
    alarms(defined);
    expect(await monitor.firing(names)).toEqual(['alarm-0', 'alarm-50', 'alarm-100', 'alarm-150', 'alarm-200']);
    const sent = requests();
    expect(sent.map((r) => r.AlarmNames?.length)).toEqual([100, 100, 50]);
    expect(sent.flatMap((r) => r.AlarmNames)).toEqual(names);
  });

  it('follows NextToken pages', async () => {
    alarms({ a: { state: 'OK' }, b: { state: 'ALARM' }, c: { state: 'OK' }, d: { state: 'ALARM', kind: 'composite' }, e: { state: 'OK' } }, 2);
    expect(await monitor.firing(['a', 'b', 'c', 'd', 'e'])).toEqual(['b', 'd']);
    expect(requests().map((r) => r.NextToken)).toEqual([undefined, '2', '4']);
    for (const r of requests()) expect(r.AlarmNames).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('asks once for a name given twice', async () => {
    alarms({ a: { state: 'ALARM' } });
    expect(await monitor.firing(['a', 'a'])).toEqual(['a']);
    expect(requests()[0]?.AlarmNames).toEqual(['a']);
  });

  it('fails on an alarm that does not exist, naming it: a misspelled alarm must not pass a gate', async () => {
    alarms({ 'shop-5xx': { state: 'OK' }, 'shop-latency': { state: 'ALARM' } });
    const error = await monitor.firing(['shop-5xx', 'shop-5xxx', 'shop-latency', 'shop-typo']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownAlarmError);
    expect(error).toMatchObject({ code: 'ALARM_NOT_FOUND', alarms: ['shop-5xxx', 'shop-typo'], context: { alarms: ['shop-5xxx', 'shop-typo'] } });
    expect((error as Error).message).toContain('"shop-5xxx", "shop-typo"');
  });

  it('treats alarms of a kind it was told not to look at as missing', async () => {
    alarms({ 'shop-health': { state: 'ALARM', kind: 'composite' } });
    const metricOnly = new CloudWatchAlarmMonitor(client, { alarmTypes: ['MetricAlarm'] });
    await expect(metricOnly.firing(['shop-health'])).rejects.toBeInstanceOf(UnknownAlarmError);
    expect(requests()[0]?.AlarmTypes).toEqual(['MetricAlarm']);
  });

  it('refuses names CloudWatch could not hold without asking', async () => {
    alarms({});
    await expect(monitor.firing(['', 'x'.repeat(256)])).rejects.toBeInstanceOf(UnknownAlarmError);
    expect(requests()).toHaveLength(0);
  });

  it('passes CloudWatch errors on', async () => {
    cloudwatch.on(DescribeAlarmsCommand).rejects(new Error('AccessDenied'));
    await expect(monitor.firing(['a'])).rejects.toThrow('AccessDenied');
  });
});

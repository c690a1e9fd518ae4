/**
 * The AWS rack's AlarmMonitor: DescribeAlarms by name (at most 100 names a request, pages
 * followed), metric, composite and log alarms alike. A name that matches no alarm is an error, not
 * "not firing": a health gate must not pass because an alarm's name was misspelled.
 *
 * Composite alarms are only returned to a caller whose cloudwatch:DescribeAlarms permission is
 * scoped to `*`; with a narrower policy a composite alarm looks missing (and so fails the gate).
 */
import type { AlarmType, CloudWatchClient, StateValue } from '@aws-sdk/client-cloudwatch';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { SlipwayError } from '../../errors';
import type { AlarmMonitor } from '../../pipeline/ports/runtime';

/** DescribeAlarms' limit on AlarmNames (and MaxRecords). */
export const MAX_ALARM_NAMES_PER_REQUEST = 100;
/** CloudWatch's limit on an alarm name's length. */
const MAX_ALARM_NAME_LENGTH = 255;

const ALL_ALARM_TYPES: readonly AlarmType[] = ['MetricAlarm', 'CompositeAlarm', 'LogAlarm'];

/** Alarms a gate names that CloudWatch does not have. */
export class UnknownAlarmError extends SlipwayError {
  constructor(readonly alarms: readonly string[]) {
    super(`no CloudWatch alarm named ${alarms.map((a) => JSON.stringify(a)).join(', ')}: check the alarm names the health gate requires`, 'ALARM_NOT_FOUND', { alarms });
  }
}

export interface CloudWatchAlarmMonitorOptions {
  /** Which kinds of alarm to look names up among (default: metric, composite and log alarms). */
  readonly alarmTypes?: readonly AlarmType[];
}

export class CloudWatchAlarmMonitor implements AlarmMonitor {
  constructor(
    private readonly client: CloudWatchClient,
    private readonly options: CloudWatchAlarmMonitorOptions = {},
  ) {}

  async firing(names: readonly string[]): Promise<readonly string[]> {
    const wanted = [...new Set(names)];
    if (wanted.length === 0) return [];
    // A name CloudWatch would refuse outright cannot be an alarm's: report it as unknown.
    const malformed = wanted.filter((n) => n.length === 0 || n.length > MAX_ALARM_NAME_LENGTH);
    if (malformed.length > 0) throw new UnknownAlarmError(malformed);

    const states = new Map<string, StateValue | undefined>();
    for (let i = 0; i < wanted.length; i += MAX_ALARM_NAMES_PER_REQUEST) {
      const batch = wanted.slice(i, i + MAX_ALARM_NAMES_PER_REQUEST);
      let token: string | undefined;
      do {
        const out = await this.client.send(
          new DescribeAlarmsCommand({
            AlarmNames: batch,
            AlarmTypes: [...(this.options.alarmTypes ?? ALL_ALARM_TYPES)],
            MaxRecords: MAX_ALARM_NAMES_PER_REQUEST,
            ...(token === undefined ? {} : { NextToken: token }),
          }),
        );
        for (const alarm of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? []), ...(out.LogAlarms ?? [])]) {
          if (alarm.AlarmName !== undefined) states.set(alarm.AlarmName, alarm.StateValue);
        }
        token = out.NextToken || undefined;
      } while (token !== undefined);
    }

    const missing = wanted.filter((n) => !states.has(n));
    if (missing.length > 0) throw new UnknownAlarmError(missing);
    return wanted.filter((n) => states.get(n) === 'ALARM');
  }
}

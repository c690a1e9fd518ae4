/**
 * What the CLI reads from CloudWatch Logs, and the filter patterns it reads them with.
 *
 * App logs: the CloudWatch Observability add-on's Fluent Bit writes every container's output to
 * `/aws/containerinsights/<cluster>/application` (lib/aws/rack-cluster.ts). Each log event is a
 * JSON record: `log` (the line), `stream`, and `kubernetes` (`namespace_name`, `pod_name`,
 * `container_name`, and `labels` when the add-on is configured to add them). Its log streams are
 * named after the node and the container log file (`<host>-application.var.log.containers.<pod>_<namespace>_<container>-<id>.log`),
 * so no stream-name prefix selects an app: a JSON filter pattern on the record's namespace and
 * container does, on the server.
 *
 * Events: the rack's event log (lib/aws/rack-event-log.ts) holds each EventBridge event as JSON.
 */
import { EVENT_SOURCE, EVENT_TYPES } from '../../../pipeline/events';
import type { EventType, SlipwayEvent } from '../../../pipeline/events';
import { namespaceOf, SLIPWAY_LABELS } from '../../../kubernetes/objects';
import type { LogEntry } from '../rack-connection';

/** The log group the rack's cluster ships container output to. */
export function applicationLogGroup(cluster: string): string {
  return `/aws/containerinsights/${cluster}/application`;
}

/** `arn:<partition>:logs:<region>:<account>:log-group:<name>` (no `:*`), as StartLiveTail wants it. */
export function logGroupArn(partition: string, region: string, account: string, group: string): string {
  return `arn:${partition}:logs:${region}:${account}:log-group:${group}`;
}

/** A value that can sit inside a quoted filter-pattern string without an escape CloudWatch might read differently. */
const PLAIN = /^[^"\\*]*$/;

/**
 * The JSON filter pattern for an app's (and a service's) container lines. `text`, when it can be
 * put in a pattern safely, becomes `$.log = "*text*"` (CloudWatch's wildcard match); otherwise
 * the caller filters it itself (`matchesText`), which it does anyway so both paths agree.
 */
export function appLogPattern(rack: string, app: string, service?: string, text?: string): string {
  const terms = [`$.kubernetes.namespace_name = "${namespaceOf(rack, app)}"`];
  if (service !== undefined && PLAIN.test(service)) terms.push(`$.kubernetes.container_name = "${service}"`);
  if (text !== undefined && text !== '' && PLAIN.test(text)) terms.push(`$.log = "*${text}*"`);
  return `{ ${terms.join(' && ')} }`;
}

export function matchesText(entry: LogEntry, text: string | undefined): boolean {
  return text === undefined || text === '' || entry.text.includes(text);
}

interface FluentBitRecord {
  readonly log?: unknown;
  readonly time?: unknown;
  readonly kubernetes?: {
    readonly namespace_name?: unknown;
    readonly pod_name?: unknown;
    readonly container_name?: unknown;
    readonly labels?: Readonly<Record<string, unknown>>;
  };
}

/** One container line, or undefined when the message is not a Fluent Bit record of this namespace. */
export function parseContainerRecord(message: string | undefined, timestamp: number | undefined, namespace: string): LogEntry | undefined {
  if (!message) return undefined;
  let record: FluentBitRecord;
  try {
    record = JSON.parse(message) as FluentBitRecord;
  } catch {
    return undefined;
  }
  const k = record.kubernetes;
  if (!k || k.namespace_name !== namespace) return undefined;
  const release = k.labels?.[SLIPWAY_LABELS.release];
  const time = typeof record.time === 'string' && !Number.isNaN(Date.parse(record.time)) ? new Date(record.time).toISOString() : new Date(timestamp ?? 0).toISOString();
  return {
    time,
    service: typeof k.container_name === 'string' ? k.container_name : '',
    process: typeof k.pod_name === 'string' ? k.pod_name : '',
    ...(typeof release === 'string' ? { release } : {}),
    text: typeof record.log === 'string' ? record.log.replace(/\r?\n$/, '') : '',
  };
}

/** The filter pattern for the event log: an app's or an execution's events. */
export function eventLogPattern(filter: { readonly app?: string; readonly execution?: string }): string | undefined {
  const terms: string[] = [`$.source = "${EVENT_SOURCE}"`];
  if (filter.app !== undefined && PLAIN.test(filter.app)) terms.push(`$.detail.app = "${filter.app}"`);
  if (filter.execution !== undefined && PLAIN.test(filter.execution)) terms.push(`$.detail.execution = "${filter.execution}"`);
  return `{ ${terms.join(' && ')} }`;
}

/**
 * An EventBridge event as the event log holds it, as a SlipwayEvent. The id is EventBridge's own
 * (PutEvents does not carry the id the publisher made), which is unique all the same.
 */
export function parseEventRecord(message: string | undefined): SlipwayEvent | undefined {
  if (!message) return undefined;
  let e: { id?: unknown; source?: unknown; 'detail-type'?: unknown; time?: unknown; detail?: unknown };
  try {
    e = JSON.parse(message) as typeof e;
  } catch {
    return undefined;
  }
  if (e.source !== EVENT_SOURCE || typeof e['detail-type'] !== 'string' || !Object.prototype.hasOwnProperty.call(EVENT_TYPES, e['detail-type'])) return undefined;
  if (typeof e.detail !== 'object' || e.detail === null || typeof (e.detail as { app?: unknown }).app !== 'string') return undefined;
  return {
    id: typeof e.id === 'string' ? e.id : '',
    source: EVENT_SOURCE,
    'detail-type': e['detail-type'] as EventType,
    time: typeof e.time === 'string' ? e.time : '',
    detail: e.detail as SlipwayEvent['detail'],
  };
}

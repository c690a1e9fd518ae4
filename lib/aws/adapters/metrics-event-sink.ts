/**
 * The pipeline's CloudWatch metrics, derived from the events it emits: every event goes on to the
 * wrapped sink (EventBridge) and, when it is one the rack measures, is also written as a metric in
 * CloudWatch's embedded metric format through Powertools (a log line the Lambda service turns into
 * a metric; no API call, so a metric never slows or fails a step).
 *
 * Each data point is written twice: once with the app (and service or timer) as dimensions, for
 * the dashboard's per-app and per-service graphs, and once with the rack alone, for the alarms,
 * which must see every app's failures in one metric.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { EventSink, EventType, SlipwayEvent } from '../../pipeline/events';

/** The metric names, in the `Slipway` namespace. */
export const PIPELINE_METRICS = {
  deploys: 'Deploys',
  deployDuration: 'DeployDuration',
  deployFailures: 'DeployFailures',
  rollbacks: 'Rollbacks',
  serviceDeploys: 'ServiceDeploys',
  serviceFailures: 'ServiceFailures',
  buildDuration: 'BuildDuration',
  timerSucceeded: 'TimerSucceeded',
  timerFailed: 'TimerFailed',
  timerSkipped: 'TimerSkipped',
  timerDuration: 'TimerDuration',
} as const;

export const METRICS_NAMESPACE = 'Slipway';

/** Powertools' service name for the pipeline's functions: every metric carries it as the dimension `service`. */
export const METRICS_SERVICE = 'slipway';

/** Dimension names. `appService` is the convox.yml service (Powertools keeps `service` for the emitter). */
export const METRIC_DIMENSIONS = { rack: 'rack', app: 'app', appService: 'appService', timer: 'timer' } as const;

interface DataPoint {
  readonly metric: string;
  readonly unit: (typeof MetricUnit)[keyof typeof MetricUnit];
  readonly value: number;
  readonly dimensions: Readonly<Record<string, string>>;
}

const COUNTED: Partial<Record<EventType, string>> = {
  'Deployment Succeeded': PIPELINE_METRICS.deploys,
  'Deployment Failed': PIPELINE_METRICS.deployFailures,
  'Bundle Rejected': PIPELINE_METRICS.deployFailures,
  'Deployment Rolled Back': PIPELINE_METRICS.rollbacks,
  'Rollback Succeeded': PIPELINE_METRICS.rollbacks,
  'Timer Succeeded': PIPELINE_METRICS.timerSucceeded,
  'Timer Failed': PIPELINE_METRICS.timerFailed,
  'Timer Skipped': PIPELINE_METRICS.timerSkipped,
};

/** The data points one event gives (none for most). */
export function metricsOf(event: SlipwayEvent): DataPoint[] {
  const d = event.detail;
  const app = { [METRIC_DIMENSIONS.app]: d.app };
  const points: DataPoint[] = [];
  const count = (metric: string, dimensions: Record<string, string>): void => {
    points.push({ metric, unit: MetricUnit.Count, value: 1, dimensions });
  };
  const time = (metric: string, dimensions: Record<string, string>): void => {
    if (d.durationMs !== undefined) points.push({ metric, unit: MetricUnit.Milliseconds, value: d.durationMs, dimensions });
  };
  const type = event['detail-type'];
  const counted = COUNTED[type];
  if (counted) count(counted, d.timer ? { ...app, [METRIC_DIMENSIONS.timer]: d.timer } : app);
  switch (type) {
    case 'Deployment Succeeded':
      time(PIPELINE_METRICS.deployDuration, app);
      for (const service of d.services ?? []) count(PIPELINE_METRICS.serviceDeploys, { ...app, [METRIC_DIMENSIONS.appService]: service });
      break;
    case 'Build Succeeded':
      if (d.service) time(PIPELINE_METRICS.buildDuration, { ...app, [METRIC_DIMENSIONS.appService]: d.service });
      break;
    case 'Build Failed':
    case 'Rollout Failed':
    case 'Health Gate Failed':
      if (d.service) count(PIPELINE_METRICS.serviceFailures, { ...app, [METRIC_DIMENSIONS.appService]: d.service });
      break;
    case 'Timer Succeeded':
    case 'Timer Failed':
      if (d.timer) time(PIPELINE_METRICS.timerDuration, { ...app, [METRIC_DIMENSIONS.timer]: d.timer });
      break;
    default:
      break;
  }
  return points;
}

/** Also written with the rack alone as dimension, for the alarms on repeated failures. */
const RACK_WIDE: ReadonlySet<string> = new Set([PIPELINE_METRICS.deployFailures, PIPELINE_METRICS.rollbacks, PIPELINE_METRICS.timerFailed]);

export class MetricsEventSink implements EventSink {
  constructor(
    private readonly next: EventSink,
    private readonly metrics: Pick<Metrics, 'singleMetric'>,
    private readonly rack: string,
  ) {}

  async put(events: readonly SlipwayEvent[]): Promise<void> {
    // Events first: a metric is derived, the event is the record.
    await this.next.put(events);
    for (const event of events) {
      for (const point of metricsOf(event)) {
        this.metrics.singleMetric().addDimensions({ [METRIC_DIMENSIONS.rack]: this.rack, ...point.dimensions }).addMetric(point.metric, point.unit, point.value);
        if (RACK_WIDE.has(point.metric)) this.metrics.singleMetric().addDimension(METRIC_DIMENSIONS.rack, this.rack).addMetric(point.metric, point.unit, point.value);
      }
    }
  }
}

/**
 * What an operator looks at: the rack's CloudWatch dashboard, drawn from the metrics the pipeline
 * writes (see adapters/metrics-event-sink.ts), and the alarms that page when failures repeat.
 *
 * Per-app graphs use SEARCH expressions, so an app appears on the dashboard with its first deploy
 * and the stack never has to know the apps. The alarms read the rack-wide copy of each failure
 * metric (dimensions `service` and `rack` only), which sums every app's failures.
 */
import { Duration } from 'aws-cdk-lib';
import { Alarm, AlarmStatusWidget, ComparisonOperator, Dashboard, GraphWidget, MathExpression, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IMetric, IWidget } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, METRICS_SERVICE, METRIC_DIMENSIONS, PIPELINE_METRICS } from './adapters/metrics-event-sink';

/**
 * The dimension Powertools adds to every data point: the emitting service, which the stack sets to
 * `slipway` for every step function (POWERTOOLS_SERVICE_NAME in rack-pipeline.ts).
 */
const EMITTER_DIMENSION = { name: 'service', value: METRICS_SERVICE } as const;

export type RackAlarm = 'deployFailures' | 'rollbacks' | 'timerFailures';

/** Every alarm of the rack is named `slipway-<rack>-<what>`; the alert topic accepts alarms with this prefix. */
export function alarmNamePrefix(rackName: string): string {
  return `slipway-${rackName}-`;
}

interface AlarmSpec {
  readonly what: string;
  readonly metric: string;
  /** Alarm when the hour's sum reaches this. */
  readonly threshold: number;
  readonly description: (rackName: string) => string;
}

const ALARMS: Readonly<Record<RackAlarm, AlarmSpec>> = {
  deployFailures: {
    what: 'deploy-failures',
    metric: PIPELINE_METRICS.deployFailures,
    threshold: 3,
    description: (rack) =>
      `Three or more deploys to rack ${rack} failed (or their bundles were rejected) within an hour. The previous releases keep serving. ` +
      `Find the app on the "Deploy failures" graph of dashboard slipway-${rack} or in the alert messages, open the failed Deploy execution in the Step Functions console, ` +
      'and read the failed step\u2019s error and the build or rollout logs it names. Fix the app or its convox.yml and upload a new bundle; nothing needs resetting.',
  },
  rollbacks: {
    what: 'rollbacks',
    metric: PIPELINE_METRICS.rollbacks,
    threshold: 2,
    description: (rack) =>
      `Two or more rollbacks on rack ${rack} within an hour: new releases fail after their rollout began (health gate, crash loop) or operators are rolling back by hand. ` +
      `Find the app on the "Rollbacks" graph of dashboard slipway-${rack}, read the reasons of its Rollout Failed or Health Gate Failed alerts and its container logs. ` +
      'The previous release serves; a console rollback leaves the app pinned until an operator unpins it.',
  },
  timerFailures: {
    what: 'timer-failures',
    metric: PIPELINE_METRICS.timerFailed,
    threshold: 3,
    description: (rack) =>
      `Three or more timer runs on rack ${rack} failed within an hour. Find the timer on the "Timer runs" graph of dashboard slipway-${rack}, ` +
      'open its failed Timer execution in the Step Functions console and read the run\u2019s container logs (namespace <rack>-<app>). Fix the command or the app\u2019s release; the next scheduled run retries.',
  },
};

/** The rack's alarm names (`slipway-<rack>-<what>`), for docs, outputs and the health gate. */
export function rackAlarmNames(rackName: string): Readonly<Record<RackAlarm, string>> {
  const names = {} as Record<RackAlarm, string>;
  for (const [alarm, spec] of Object.entries(ALARMS) as [RackAlarm, AlarmSpec][]) names[alarm] = `${alarmNamePrefix(rackName)}${spec.what}`;
  return names;
}

export interface RackMonitoringProps {
  readonly rackName: string;
  /** Where alarms go (RackAlerts' topic). */
  readonly alarmTopic: ITopic;
  /** The pipeline's state machines by name; each gets an executions graph. */
  readonly machines?: Readonly<Record<string, IStateMachine>>;
}

const DAY = Duration.days(1);
const HOUR = Duration.hours(1);
const WIDTH = 12;
const HEIGHT = 6;

export class RackMonitoring extends Construct {
  readonly dashboard: Dashboard;
  readonly alarms: Readonly<Record<RackAlarm, Alarm>>;
  readonly alarmNames: Readonly<Record<RackAlarm, string>>;

  constructor(scope: Construct, id: string, props: RackMonitoringProps) {
    super(scope, id);
    const rack = props.rackName;
    this.alarmNames = rackAlarmNames(rack);

    const alarms = {} as Record<RackAlarm, Alarm>;
    const action = new SnsAction(props.alarmTopic);
    for (const [alarm, spec] of Object.entries(ALARMS) as [RackAlarm, AlarmSpec][]) {
      const created = new Alarm(this, `${spec.metric}Alarm`, {
        alarmName: this.alarmNames[alarm],
        alarmDescription: spec.description(rack),
        metric: rackWideMetric(rack, spec.metric),
        threshold: spec.threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        // No data means nothing failed in that hour.
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(action);
      // Whoever was paged also learns when the failures stop.
      created.addOkAction(action);
      alarms[alarm] = created;
    }
    this.alarms = alarms;

    const byApp = [METRIC_DIMENSIONS.app];
    const rows: IWidget[][] = [
      [new AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(alarms), width: 2 * WIDTH, height: 3 })],
      [
        graph('Deploys per app service (per day)', [
          search(rack, PIPELINE_METRICS.serviceDeploys, [METRIC_DIMENSIONS.app, METRIC_DIMENSIONS.appService], 'Sum', DAY, `\${PROP('Dim.${METRIC_DIMENSIONS.app}')}/\${PROP('Dim.${METRIC_DIMENSIONS.appService}')}`),
        ]),
        graph('Deploys per app (per day)', [search(rack, PIPELINE_METRICS.deploys, byApp, 'Sum', DAY, appLabel())]),
      ],
      [
        graph(
          'Deploy duration, p50 and p90 (ms, per day)',
          [search(rack, PIPELINE_METRICS.deployDuration, byApp, 'p50', DAY, appLabel('p50')), search(rack, PIPELINE_METRICS.deployDuration, byApp, 'p90', DAY, appLabel('p90'))],
          false,
        ),
        graph('Deploy failures (per hour)', [search(rack, PIPELINE_METRICS.deployFailures, byApp, 'Sum', HOUR, appLabel())]),
      ],
      [
        graph('Rollbacks (per hour)', [search(rack, PIPELINE_METRICS.rollbacks, byApp, 'Sum', HOUR, appLabel())]),
        graph(
          'Timer runs (per hour)',
          [
            [PIPELINE_METRICS.timerSucceeded, 'succeeded'],
            [PIPELINE_METRICS.timerFailed, 'failed'],
            [PIPELINE_METRICS.timerSkipped, 'skipped'],
          ].map(([metric, outcome]) =>
            search(rack, metric as string, [METRIC_DIMENSIONS.app, METRIC_DIMENSIONS.timer], 'Sum', HOUR, `\${PROP('Dim.${METRIC_DIMENSIONS.app}')}/\${PROP('Dim.${METRIC_DIMENSIONS.timer}')} ${outcome}`),
          ),
        ),
      ],
    ];
    const machineGraphs = Object.entries(props.machines ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, machine]) =>
        graph(`${name} executions (per hour)`, [
          machine.metricSucceeded({ statistic: 'Sum', period: HOUR, label: 'succeeded' }),
          machine.metricFailed({ statistic: 'Sum', period: HOUR, label: 'failed' }),
        ]),
      );
    for (let i = 0; i < machineGraphs.length; i += 2) rows.push(machineGraphs.slice(i, i + 2));

    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: `slipway-${rack}`, defaultInterval: Duration.days(14), widgets: rows });
  }
}

/** The rack-wide copy of a failure metric: every app's data points, dimensions `service` and `rack` only. */
function rackWideMetric(rackName: string, metricName: string): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { [EMITTER_DIMENSION.name]: EMITTER_DIMENSION.value, [METRIC_DIMENSIONS.rack]: rackName },
    statistic: 'Sum',
    period: HOUR,
  });
}

/**
 * One series per combination of `dimensions` the pipeline has written for this rack. The schema
 * lists the data point's full dimension set, so the rack-wide copies stay out of per-app graphs.
 */
function search(rackName: string, metricName: string, dimensions: readonly string[], statistic: string, period: Duration, label: string): MathExpression {
  const schema = [METRICS_NAMESPACE, ...[...dimensions, METRIC_DIMENSIONS.rack, EMITTER_DIMENSION.name].sort()].join(',');
  const filter = `MetricName="${metricName}" ${METRIC_DIMENSIONS.rack}="${rackName}" ${EMITTER_DIMENSION.name}="${EMITTER_DIMENSION.value}"`;
  return new MathExpression({ expression: `SEARCH('{${schema}} ${filter}', '${statistic}', ${period.toSeconds()})`, usingMetrics: {}, period, label });
}

function appLabel(suffix?: string): string {
  const app = `\${PROP('Dim.${METRIC_DIMENSIONS.app}')}`;
  return suffix === undefined ? app : `${app} ${suffix}`;
}

function graph(title: string, left: IMetric[], stacked = true): GraphWidget {
  return new GraphWidget({ title, left, stacked, width: WIDTH, height: HEIGHT, leftYAxis: { min: 0, showUnits: false } });
}

/** The rack's dashboard and alarms, checked by synthesis (no AWS account is reachable here). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { PIPELINE_METRICS } from '../../lib/aws/adapters/metrics-event-sink';
import { RackMonitoring, rackAlarmNames } from '../../lib/aws/rack-monitoring';

const TOPIC_ARN = 'arn:aws:sns:eu-west-1:111111111111:slipway-test-alerts';

function stackWithMonitoring(withMachines: boolean, app = new App()): Stack {
  const stack = new Stack(app, 'Rack');
  const alarmTopic = Topic.fromTopicArn(stack, 'Alerts', TOPIC_ARN);
  const machines = withMachines
    ? { Deploy: StateMachine.fromStateMachineName(stack, 'Deploy', 'slipway-test-Deploy'), Timer: StateMachine.fromStateMachineName(stack, 'Timer', 'slipway-test-Timer') }
    : undefined;
  new RackMonitoring(stack, 'Monitoring', { rackName: 'test', alarmTopic, ...(machines ? { machines } : {}) });
  return stack;
}

/** The dashboard body with CloudFormation's intrinsic functions flattened to text. */
function dashboardBody(t: Template): string {
  const dashboards = Object.values(t.findResources('AWS::CloudWatch::Dashboard')) as { Properties: { DashboardBody: unknown } }[];
  expect(dashboards).toHaveLength(1);
  const body = dashboards[0]!.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  return body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join('');
}

describe('the rack monitoring (synthesised; no AWS account here)', () => {
  it('draws a dashboard named after the rack with every pipeline metric on it', () => {
    const t = Template.fromStack(stackWithMonitoring(false));
    t.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'slipway-test' });
    const body = dashboardBody(t);
    for (const metric of ['Deploys', 'ServiceDeploys', 'DeployDuration', 'DeployFailures', 'Rollbacks', 'TimerSucceeded', 'TimerFailed', 'TimerSkipped']) {
      expect(Object.values(PIPELINE_METRICS)).toContain(metric);
      expect(body).toContain(`MetricName=\\"${metric}\\"`);
    }
    expect(body).not.toContain('ExecutionsFailed');
  });

  it('graphs per-app series with SEARCH over the dimension sets the pipeline writes, for this rack only', () => {
    const body = dashboardBody(Template.fromStack(stackWithMonitoring(false)));
    // Deploy frequency per app service, summed per day.
    expect(body).toContain(`SEARCH('{Slipway,app,appService,rack,service} MetricName=\\"ServiceDeploys\\" rack=\\"test\\" service=\\"slipway\\"', 'Sum', 86400)`);
    expect(body).toContain(`SEARCH('{Slipway,app,rack,service} MetricName=\\"Deploys\\" rack=\\"test\\" service=\\"slipway\\"', 'Sum', 86400)`);
    expect(body).toContain(`SEARCH('{Slipway,app,rack,service} MetricName=\\"DeployDuration\\" rack=\\"test\\" service=\\"slipway\\"', 'p50', 86400)`);
    expect(body).toContain(`SEARCH('{Slipway,app,rack,service} MetricName=\\"DeployDuration\\" rack=\\"test\\" service=\\"slipway\\"', 'p90', 86400)`);
    expect(body).toContain(`SEARCH('{Slipway,app,rack,service,timer} MetricName=\\"TimerFailed\\" rack=\\"test\\" service=\\"slipway\\"', 'Sum', 3600)`);
  });

  it('graphs each state machine\u2019s executions when machines are given', () => {
    const body = dashboardBody(Template.fromStack(stackWithMonitoring(true)));
    expect(body).toContain('Deploy executions');
    expect(body).toContain('Timer executions');
    expect(body).toContain('"AWS/States","ExecutionsFailed"');
    expect(body).toContain('"AWS/States","ExecutionsSucceeded"');
  });

  it('alarms on repeated failures within an hour, on the rack-wide metrics, to the alert topic', () => {
    const t = Template.fromStack(stackWithMonitoring(false));
    t.resourceCountIs('AWS::CloudWatch::Alarm', 3);
    const expected = [
      { name: 'slipway-test-deploy-failures', metric: 'DeployFailures', threshold: 3 },
      { name: 'slipway-test-rollbacks', metric: 'Rollbacks', threshold: 2 },
      { name: 'slipway-test-timer-failures', metric: 'TimerFailed', threshold: 3 },
    ];
    for (const alarm of expected) {
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: alarm.name,
        Namespace: 'Slipway',
        MetricName: alarm.metric,
        // Exactly these two: the copy the pipeline writes for alarms, summed over every app.
        Dimensions: [
          { Name: 'rack', Value: 'test' },
          { Name: 'service', Value: 'slipway' },
        ],
        Statistic: 'Sum',
        Period: 3600,
        EvaluationPeriods: 1,
        Threshold: alarm.threshold,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [TOPIC_ARN],
        OKActions: [TOPIC_ARN],
      });
    }
  });

  it('tells whoever is paged what to do, and exports the alarm names', () => {
    const t = Template.fromStack(stackWithMonitoring(false));
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm')) as { Properties: { AlarmName: string; AlarmDescription: string } }[];
    for (const { Properties: alarm } of alarms) {
      expect(alarm.AlarmDescription).toContain('slipway-test');
      expect(alarm.AlarmDescription.length).toBeGreaterThan(120);
    }
    expect(rackAlarmNames('test')).toEqual({
      deployFailures: 'slipway-test-deploy-failures',
      rollbacks: 'slipway-test-rollbacks',
      timerFailures: 'slipway-test-timer-failures',
    });
    expect(alarms.map((a) => a.Properties.AlarmName).sort()).toEqual(Object.values(rackAlarmNames('test')).sort());
  });

  it('passes cdk-nag\u2019s AWS Solutions checks with no unacknowledged finding', () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'slipway-nag-')) });
    stackWithMonitoring(true, app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});

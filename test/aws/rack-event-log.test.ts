/** The rack's event log (a rule on the bus copying Slipway events to CloudWatch Logs), checked by synthesis (no AWS account here). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { EVENT_LOG_OUTPUT, eventLogGroupName, RackEventLog } from '../../lib/aws/rack-event-log';
import { rackConfig } from '../../lib/aws/rack-config';
import { RackStack } from '../../lib/aws/rack-stack';

const CONTEXT = { '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true, 'slipway:rackName': 'test', 'slipway:clusterName': 'apps', 'aws:cdk:bundling-stacks': [] };

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };

function rackTemplate(): Template {
  const app = new App({ context: CONTEXT });
  return Template.fromStack(new RackStack(app, 'Rack', { config: rackConfig((key) => app.node.tryGetContext(key)) }));
}

describe('the rack\u2019s event log (synthesised)', () => {
  const t = rackTemplate();

  it('keeps events 30 days in /slipway/<rack>/events and names the group in an output', () => {
    t.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: eventLogGroupName('test'), RetentionInDays: 30 });
    const outputs = t.findOutputs(EVENT_LOG_OUTPUT);
    expect(Object.keys(outputs)).toEqual([EVENT_LOG_OUTPUT]);
    expect(JSON.stringify(outputs[EVENT_LOG_OUTPUT]?.Value)).toContain('EventLogLogs');
  });

  it('has a rule on the rack\u2019s bus for source slipway that targets the group by its ARN (without :*)', () => {
    const rules = Object.values(t.findResources('AWS::Events::Rule', { Properties: { Name: 'slipway-test-events-to-logs' } })) as Resource[];
    expect(rules).toHaveLength(1);
    const rule = rules[0] as Resource;
    // Every Slipway event, not only alerts (RackAlerts has a rule of its own for those).
    expect(rule.Properties).toMatchObject({ EventPattern: { source: ['slipway'] }, EventBusName: { Ref: expect.stringMatching(/^StoresEvents/) as unknown }, State: 'ENABLED' });
    const targetArn = JSON.stringify((rule.Properties.Targets as { Arn: unknown }[])[0]?.Arn);
    expect(targetArn).toContain(':log-group:');
    expect(targetArn).not.toContain(':*');
    // The policy exists before EventBridge first delivers.
    expect(rule.DependsOn?.some((d) => d.startsWith('EventLogPolicy'))).toBe(true);
  });

  it('lets only events.amazonaws.com (and log delivery) write to that group, with no Lambda', () => {
    const policies = Object.values(t.findResources('AWS::Logs::ResourcePolicy')) as Resource[];
    expect(policies).toHaveLength(1);
    const doc = JSON.stringify((policies[0] as Resource).Properties.PolicyDocument);
    expect(doc).toContain('events.amazonaws.com');
    expect(doc).toContain('logs:PutLogEvents');
    expect(doc).toContain('EventLogLogs');
    expect(doc).not.toContain('"Resource":"*"');
    // No custom resource was added for it (CDK's own log group target would add one).
    expect(Object.keys(t.findResources('Custom::CloudwatchLogResourcePolicy'))).toEqual([]);
  });

  it('passes cdk-nag\u2019s AWS Solutions checks on its own', () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'slipway-event-log-nag-')) });
    const stack = new Stack(app, 'EventLogOnly');
    new RackEventLog(stack, 'EventLog', { rackName: 'solo', bus: new EventBus(stack, 'Bus', { eventBusName: 'slipway-solo' }) });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});

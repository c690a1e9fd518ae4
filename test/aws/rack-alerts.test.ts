/** The rack's alerts, checked by synthesis (no AWS account is reachable here). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Key } from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { SlipwayError } from '../../lib/errors';
import { EVENT_TYPES } from '../../lib/pipeline/events';
import { ALERT_WEBHOOK_CONTEXT_KEY, AlertKeyNotOwnedError, AlertWebhookUrlError, RackAlerts } from '../../lib/aws/rack-alerts';
import type { RackAlertsProps } from '../../lib/aws/rack-alerts';

const WEBHOOK = 'https://hooks.example.com/services/T000/B000/not-a-real-token';

function stackWithAlerts(options: Partial<RackAlertsProps> = {}, app = new App()): Stack {
  const stack = new Stack(app, 'Rack');
  const key = new Key(stack, 'Key', { enableKeyRotation: true });
  const bus = new EventBus(stack, 'Events', { eventBusName: 'slipway-test' });
  new RackAlerts(stack, 'Alerts', { rackName: 'test', bus, key, ...options });
  return stack;
}

const templates = new Map<string, Template>();

/** Synthesis takes about a second; tests that only read a template share it. */
function template(options: Partial<RackAlertsProps> = {}): Template {
  const key = JSON.stringify(options);
  let t = templates.get(key);
  if (!t) {
    t = Template.fromStack(stackWithAlerts(options));
    templates.set(key, t);
  }
  return t;
}

interface RuleTarget {
  Arn: unknown;
  InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string };
  DeadLetterConfig?: unknown;
  RetryPolicy?: unknown;
}

function alertRuleTargets(t: Template): RuleTarget[] {
  const rules = Object.values(t.findResources('AWS::Events::Rule')) as { Properties: { Targets: RuleTarget[] } }[];
  expect(rules).toHaveLength(1);
  return rules[0]!.Properties.Targets;
}

describe('the rack alerts (synthesised; no AWS account here)', () => {
  it('sends alerts to an SNS topic sealed with the rack key that refuses plain HTTP', () => {
    const t = template();
    t.hasResourceProperties('AWS::SNS::Topic', { TopicName: 'slipway-test-alerts', KmsMasterKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('lets EventBridge and CloudWatch use the rack key for the alert topic only', () => {
    const t = template();
    const keys = Object.values(t.findResources('AWS::KMS::Key')) as { Properties: { KeyPolicy: { Statement: Record<string, unknown>[] } } }[];
    const serviceStatements = keys[0]!.Properties.KeyPolicy.Statement.filter((s) => JSON.stringify(s.Principal).includes('"Service"'));
    expect(serviceStatements).toHaveLength(1);
    expect(serviceStatements[0]).toMatchObject({
      Principal: { Service: ['events.amazonaws.com', 'cloudwatch.amazonaws.com'] },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
    });
    expect(JSON.stringify(serviceStatements[0]!.Condition)).toContain('kms:EncryptionContext:aws:sns:topicArn');
    expect(JSON.stringify(serviceStatements[0]!.Condition)).toContain(':slipway-test-alerts');
  });

  it('lets only the alert rule and the rack\u2019s alarms publish to the topic', () => {
    const t = template();
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        // arrayWith keeps order: the alarms' statement is added before the rule's.
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish', Condition: Match.objectLike({ ArnLike: { 'aws:SourceArn': Match.anyValue() } }) }),
          Match.objectLike({ Principal: { Service: 'events.amazonaws.com' }, Action: 'sns:Publish', Condition: { ArnEquals: { 'aws:SourceArn': Match.anyValue() } } }),
        ]),
      },
    });
    const policy = JSON.stringify(t.findResources('AWS::SNS::TopicPolicy'));
    expect(policy).toContain(':alarm:slipway-test-*');
  });

  it('matches source slipway and exactly the catalogue\u2019s alert types', () => {
    const alertTypes = Object.entries(EVENT_TYPES)
      .filter(([, entry]) => entry.alert)
      .map(([type]) => type);
    expect(alertTypes.length).toBeGreaterThan(0);
    template().hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.anyValue(),
      EventPattern: { source: ['slipway'], 'detail-type': alertTypes },
    });
  });

  it('turns each alert into one readable line naming the type, app, release, service, timer and reason', () => {
    const [topicTarget] = alertRuleTargets(template());
    const transformer = topicTarget!.InputTransformer;
    expect(transformer.InputPathsMap).toMatchObject({
      'detail-type': '$.detail-type',
      'detail-app': '$.detail.app',
      'detail-release': '$.detail.release',
      'detail-service': '$.detail.service',
      'detail-timer': '$.detail.timer',
      'detail-reason': '$.detail.reason',
    });
    const line = JSON.parse(transformer.InputTemplate) as string;
    expect(line).toBe('[slipway test] <detail-type>: app=<detail-app> release=<detail-release> service=<detail-service> timer=<detail-timer> \u2014 <detail-reason>');
  });

  it('retries deliveries and keeps what it could not deliver in an encrypted, TLS-only dead-letter queue', () => {
    const t = template({ webhookUrl: WEBHOOK });
    t.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    const targets = alertRuleTargets(t);
    expect(targets).toHaveLength(2);
    for (const target of targets) {
      expect(target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [expect.stringMatching(/^AlertsUndelivered/), 'Arn'] } });
      expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 6 * 3600 });
    }
  });

  it('subscribes the alert e-mail address only when one is given', () => {
    template({ alertEmail: 'ops@example.com' }).hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    template().resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('posts no webhook unless one is configured', () => {
    const t = template();
    t.resourceCountIs('AWS::Events::Connection', 0);
    t.resourceCountIs('AWS::Events::ApiDestination', 0);
    expect(alertRuleTargets(t)).toHaveLength(1);
  });

  it('posts a Slack-compatible {"text": ...} to a configured webhook, rate-limited', () => {
    const t = template({ webhookUrl: WEBHOOK });
    t.hasResourceProperties('AWS::Events::ApiDestination', { HttpMethod: 'POST', InvocationEndpoint: WEBHOOK, InvocationRateLimitPerSecond: 1 });
    t.resourceCountIs('AWS::Events::Connection', 1);
    const webhookTarget = alertRuleTargets(t)[1]!;
    const body = JSON.parse(webhookTarget.InputTransformer.InputTemplate) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['text']);
    expect(body.text).toBe('[slipway test] <detail-type>: app=<detail-app> release=<detail-release> service=<detail-service> timer=<detail-timer> \u2014 <detail-reason>');
  });

  it('refuses a webhook URL that is not https, naming the context key and never the URL', () => {
    const secretish = 'http://hooks.example.com/services/T000/B000/secret-token-value';
    let error: unknown;
    try {
      stackWithAlerts({ webhookUrl: secretish });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AlertWebhookUrlError);
    expect(error).toBeInstanceOf(SlipwayError);
    const e = error as AlertWebhookUrlError;
    expect(e.code).toBe('ALERT_WEBHOOK_URL_INVALID');
    expect(e.message).toContain(ALERT_WEBHOOK_CONTEXT_KEY);
    expect(e.message).toContain('https');
    expect(e.message).not.toContain('secret-token-value');
    expect(JSON.stringify(e.context)).not.toContain('secret-token-value');
    expect(() => stackWithAlerts({ webhookUrl: 'hooks.example.com/no-scheme' })).toThrow(AlertWebhookUrlError);
  });

  it('refuses a key whose policy it cannot extend', () => {
    const stack = new Stack(new App(), 'Rack');
    const key = Key.fromKeyArn(stack, 'Imported', 'arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-0000-0000-000000000000');
    const bus = new EventBus(stack, 'Events');
    expect(() => new RackAlerts(stack, 'Alerts', { rackName: 'test', bus, key })).toThrow(AlertKeyNotOwnedError);
  });

  it('passes cdk-nag\u2019s AWS Solutions checks with no unacknowledged finding', () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'slipway-nag-')) });
    stackWithAlerts({ alertEmail: 'ops@example.com', webhookUrl: WEBHOOK }, app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    // A finding makes synthesis throw, with the report written next to the template.
    expect(() => app.synth()).not.toThrow();
  });
});

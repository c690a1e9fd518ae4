/**
 * Where the rack's alerts go. Every event the catalogue marks as an alert (a failed build or
 * rollout, a rollback, a failed timer, an expired lock...) becomes one readable line on an SNS
 * topic, which mails the configured address, and, when a webhook is configured, a Slack-compatible
 * message posted through an EventBridge API destination. The alarms of `RackMonitoring` publish to
 * the same topic.
 *
 * The topic is sealed with the rack key, so the key's policy must let the two services that
 * publish to it (EventBridge for the rule, CloudWatch for the alarms) use the key for this topic
 * only: SNS calls KMS with the topic's ARN as encryption context, and the statement is bound to it.
 */
import { ArnFormat, Duration, SecretValue, Stack, Token, Validations } from 'aws-cdk-lib';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { ApiDestination, Authorization, Connection, EventField, HttpMethod, Rule, RuleTargetInput } from 'aws-cdk-lib/aws-events';
import type { IRuleRef, IRuleTarget, RuleTargetConfig } from 'aws-cdk-lib/aws-events';
import { ApiDestination as ApiDestinationTarget, addToDeadLetterQueueResourcePolicy, bindBaseTargetConfig } from 'aws-cdk-lib/aws-events-targets';
import type { TargetBaseProps } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SlipwayError } from '../errors';
import { EVENT_SOURCE, EVENT_TYPES } from '../pipeline/events';
import type { EventType } from '../pipeline/events';
import { alarmNamePrefix } from './rack-monitoring';

/** The cdk.json context key the webhook URL is read from. */
export const ALERT_WEBHOOK_CONTEXT_KEY = 'slipway:alertWebhookUrl';

/** The detail-types the catalogue marks as alerts, in catalogue order. */
export function alertEventTypes(): EventType[] {
  return (Object.keys(EVENT_TYPES) as EventType[]).filter((type) => EVENT_TYPES[type].alert);
}

/** The alert topic's name; fixed, so the key policy can name the topic without referring to it. */
export function alertTopicName(rackName: string): string {
  return `slipway-${rackName}-alerts`;
}

export interface RackAlertsProps {
  readonly rackName: string;
  /** The rack's event bus (`slipway-<rack>`). */
  readonly bus: IEventBus;
  /** The rack key: seals the topic. It must be a key this stack owns, so its policy can be extended. */
  readonly key: IKey;
  /** Subscribed to the topic by e-mail (AWS sends a confirmation the recipient must accept). */
  readonly alertEmail?: string;
  /** An https URL that takes Slack's `{"text": "..."}` (a Slack incoming webhook, or anything compatible). */
  readonly webhookUrl?: string;
}

export class AlertWebhookUrlError extends SlipwayError {
  constructor(problem: string) {
    // The URL itself is never quoted: a Slack webhook URL carries its token in the path.
    super(`the alert webhook URL (cdk.json context "${ALERT_WEBHOOK_CONTEXT_KEY}") ${problem}; set it to the https URL of a Slack-compatible webhook, or remove the key`, 'ALERT_WEBHOOK_URL_INVALID', { contextKey: ALERT_WEBHOOK_CONTEXT_KEY });
  }
}

export class AlertKeyNotOwnedError extends SlipwayError {
  constructor(rackName: string) {
    super(`the key given to the alerts of rack ${rackName} is imported, so its policy cannot be extended to let EventBridge and CloudWatch publish to the encrypted alert topic; pass the rack's own key (RackStores.key)`, 'ALERT_KEY_NOT_OWNED', { rackName });
  }
}

/**
 * How long EventBridge keeps retrying a delivery before the event goes to the dead-letter queue:
 * long enough to outlast a webhook's outage of a few hours, short enough that a late alert is news.
 */
const DELIVERY_RETRY = { retryAttempts: 20, maxEventAge: Duration.hours(6) } as const;

/**
 * Calls per second to the webhook: Slack takes about one message a second per webhook. EventBridge
 * holds back and retries invocations above the limit, so a burst of alerts arrives late, not lost.
 */
const WEBHOOK_RATE_PER_SECOND = 1;

export class RackAlerts extends Construct {
  readonly topic: Topic;
  /** Alerts EventBridge could not deliver after its retries; kept 14 days for inspection. */
  readonly deadLetters: Queue;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: RackAlertsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const webhookUrl = props.webhookUrl === undefined ? undefined : checkedWebhookUrl(props.webhookUrl);
    const topicName = alertTopicName(props.rackName);
    const topicArn = stack.formatArn({ service: 'sns', resource: topicName });

    const statement = new PolicyStatement({
      sid: `SlipwayAlertsPublish${alphanumeric(props.rackName)}`,
      principals: [new ServicePrincipal('events.amazonaws.com'), new ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: { StringEquals: { 'kms:EncryptionContext:aws:sns:topicArn': topicArn } },
    });
    if (!props.key.addToResourcePolicy(statement).statementAdded) throw new AlertKeyNotOwnedError(props.rackName);

    this.topic = new Topic(this, 'Topic', {
      topicName,
      displayName: `Slipway ${props.rackName}`,
      masterKey: props.key,
      enforceSSL: true,
    });
    // The rule's target adds EventBridge's grant (for that rule); the alarms get theirs here, for the rack's alarms.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'RackAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: `${alarmNamePrefix(props.rackName)}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
        },
      }),
    );
    if (props.alertEmail !== undefined) this.topic.addSubscription(new EmailSubscription(props.alertEmail));

    this.deadLetters = new Queue(this, 'Undelivered', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'this queue is the dead-letter queue of the alert rule\u2019s targets; nothing consumes it, so a queue behind it would never receive anything',
    });

    this.rule = new Rule(this, 'AlertEvents', {
      eventBus: props.bus,
      description: `Slipway ${props.rackName}: events that need a person (the catalogue\u2019s alerts)`,
      eventPattern: { source: [EVENT_SOURCE], detailType: alertEventTypes() },
    });
    this.rule.addTarget(new AlertTopicTarget(this.topic, { message: RuleTargetInput.fromText(alertLine(props.rackName)), deadLetterQueue: this.deadLetters, ...DELIVERY_RETRY }));

    if (webhookUrl !== undefined) {
      // EventBridge connections require an authorization; a Slack webhook authenticates by its URL,
      // so the connection sends a header that only names the rack.
      const connection = new Connection(this, 'WebhookConnection', {
        description: `Slipway ${props.rackName}: alert webhook`,
        authorization: Authorization.apiKey('X-Slipway-Rack', SecretValue.unsafePlainText(props.rackName)),
      });
      const destination = new ApiDestination(this, 'Webhook', {
        description: `Slipway ${props.rackName}: alert webhook`,
        connection,
        endpoint: webhookUrl,
        httpMethod: HttpMethod.POST,
        rateLimitPerSecond: WEBHOOK_RATE_PER_SECOND,
      });
      this.rule.addTarget(
        new ApiDestinationTarget(destination, {
          // Placeholders inside a JSON string are escaped by EventBridge, so a reason with quotes stays valid JSON.
          event: RuleTargetInput.fromObject({ text: alertLine(props.rackName) }),
          deadLetterQueue: this.deadLetters,
          ...DELIVERY_RETRY,
        }),
      );
    }
  }
}

/**
 * The topic as the rule's target, published to by EventBridge for this rule only. CDK's SnsTopic
 * target would also grant EventBridge the topic's key without any condition, which for the rack
 * key means every use of it; the key statement RackAlerts adds is bound to this topic instead.
 */
class AlertTopicTarget implements IRuleTarget {
  constructor(
    private readonly topic: Topic,
    private readonly props: TargetBaseProps & { readonly message: RuleTargetInput; readonly deadLetterQueue: IQueue },
  ) {}

  bind(rule: IRuleRef): RuleTargetConfig {
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AlertRulePublish',
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { ArnEquals: { 'aws:SourceArn': rule.ruleRef.ruleArn } },
      }),
    );
    addToDeadLetterQueueResourcePolicy(rule, this.props.deadLetterQueue);
    return { ...bindBaseTargetConfig(this.props), arn: this.topic.topicArn, input: this.props.message, targetResource: this.topic };
  }
}

/**
 * One line per alert: what happened, to which app, and why. A field the event does not carry
 * (a timer on a deploy failure) comes out empty after its `=`.
 */
function alertLine(rackName: string): string {
  const field = (name: string): string => EventField.fromPath(`$.detail.${name}`);
  return `[slipway ${rackName}] ${EventField.detailType}: app=${field('app')} release=${field('release')} service=${field('service')} timer=${field('timer')} \u2014 ${field('reason')}`;
}

function checkedWebhookUrl(value: string): string {
  // A token (a parameter or a reference) is checked by EventBridge when the stack deploys.
  if (Token.isUnresolved(value)) return value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AlertWebhookUrlError('is not a URL');
  }
  if (url.protocol !== 'https:') throw new AlertWebhookUrlError(`uses ${url.protocol.replace(/:$/, '')}, and alerts are only sent over https`);
  return value;
}

function alphanumeric(text: string): string {
  return text.replace(/[^A-Za-z0-9]/g, '');
}

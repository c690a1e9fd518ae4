/**
 * A readable copy of the rack's events. Slipway's events go to the rack's EventBridge bus, and
 * EventBridge cannot be read back: `slipway events` and a deploy followed from the CLI need them
 * again. A rule on the bus sends every `slipway` event to one CloudWatch Logs group, where each
 * log event is the EventBridge event as JSON (`detail-type`, `time`, `detail`, ...), and the CLI
 * reads them with FilterLogEvents.
 *
 * EventBridge writes to a log group only if the group's resource policy lets
 * `events.amazonaws.com` do so. CDK's CloudWatchLogGroup target installs that policy through a
 * custom-resource Lambda; this construct writes the native AWS::Logs::ResourcePolicy instead (no
 * Lambda, no role to acknowledge), scoped to this group.
 */
import { ArnFormat, CfnOutput, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { IEventBus, IRuleTarget } from 'aws-cdk-lib/aws-events';
import { Rule } from 'aws-cdk-lib/aws-events';
import { CfnResourcePolicy, LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '../pipeline/events';

/** The log group the rack's events are copied to. */
export function eventLogGroupName(rackName: string): string {
  return `/slipway/${rackName}/events`;
}

/** The stack output that names that group; the CLI reads it. */
export const EVENT_LOG_OUTPUT = 'EventLogGroupName';

export interface RackEventLogProps {
  readonly rackName: string;
  readonly bus: IEventBus;
  /** How long events are kept (default 30 days: long enough to look back at a month of deploys). */
  readonly retention?: RetentionDays;
}

export class RackEventLog extends Construct {
  readonly logGroup: LogGroup;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: RackEventLogProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.logGroup = new LogGroup(this, 'Logs', {
      logGroupName: eventLogGroupName(props.rackName),
      retention: props.retention ?? RetentionDays.ONE_MONTH,
      // Events are a record of what happened, not the state: losing them with the stack is acceptable.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // EventBridge names a log group target without the `:*` that LogGroup.logGroupArn ends with.
    const groupArn = stack.formatArn({ service: 'logs', resource: 'log-group', arnFormat: ArnFormat.COLON_RESOURCE_NAME, resourceName: this.logGroup.logGroupName });
    const target: IRuleTarget = { bind: () => ({ arn: groupArn }) };
    const ruleName = `slipway-${props.rackName}-events-to-logs`;
    this.rule = new Rule(this, 'Rule', {
      ruleName,
      description: `Slipway rack ${props.rackName}: copies every Slipway event to ${eventLogGroupName(props.rackName)} so the CLI can read them back`,
      eventBus: props.bus,
      eventPattern: { source: [EVENT_SOURCE] },
      targets: [target],
    });
    const policy = new CfnResourcePolicy(this, 'Policy', {
      policyName: `slipway-${props.rackName}-events-to-logs`,
      policyDocument: stack.toJsonString({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'SlipwayEventsToLogs',
            Effect: 'Allow',
            Principal: { Service: ['events.amazonaws.com', 'delivery.logs.amazonaws.com'] },
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            // This group only. No aws:SourceArn condition: EventBridge's documented policy for log
            // group targets has none, and a condition EventBridge does not fill in would drop every
            // event silently; CloudWatch Logs targets must be in the rule's own account anyway.
            Resource: this.logGroup.logGroupArn,
          },
        ],
      }),
    });
    // EventBridge checks the policy when it first delivers; have it in place before the rule runs.
    this.rule.node.addDependency(policy);

    new CfnOutput(stack, EVENT_LOG_OUTPUT, { value: this.logGroup.logGroupName, description: 'Slipway events, as EventBridge delivered them (read by `slipway events`)' });
  }
}

/**
 * cdk-nag acknowledgments, each with its reason, on the construct that needs it (so the rule
 * still covers everything else). A wildcard finding's id names the exact resource or action, so
 * an acknowledgment never hides a wildcard it was not written for.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** `<LogicalId.Arn>` as cdk-nag writes a resource's ARN in a finding. */
export function arnRef(construct: IConstruct): string {
  const cfn = (construct.node.defaultChild ?? construct) as CfnElement;
  return `<${Stack.of(construct).getLogicalId(cfn)}.Arn>`;
}

/** The start of an ARN in this stack's account and region, as cdk-nag writes it in a finding (`arn:<AWS::Partition>:ecr:…:`). */
export function nagArn(service: string): string {
  return `arn:<AWS::Partition>:${service}:<AWS::Region>:<AWS::AccountId>:`;
}

/** Acknowledge AwsSolutions-IAM5 for the given `Resource::…` or `Action::…` entries. */
export function acknowledgeWildcards(scope: IConstruct, entries: readonly string[], reason: string): void {
  for (const entry of entries) Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[${entry}]`, reason });
}

export const XRAY_REASON = 'X-Ray\u2019s PutTraceSegments and PutTelemetryRecords have no resource-level permissions; the grant is CDK\u2019s for active tracing';

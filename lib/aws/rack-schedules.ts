/**
 * EventBridge Scheduler for the rack: the group the apps' timer schedules live in (the step
 * functions create, update and delete them at every deploy to match convox.yml), the role those
 * schedules start the Timer machine with, and the daily schedule that starts the Cleanup machine.
 */
import { Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnSchedule, CfnScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';

export interface RackSchedulesProps {
  readonly rackName: string;
  /** The ARNs of the Timer and Cleanup machines (by name: the machines refer to functions that refer to this role). */
  readonly timerMachineArn: string;
  readonly cleanupMachineArn: string;
  /** When cleanup runs, as an EventBridge Scheduler cron expression (default 04:00 UTC daily). */
  readonly cleanupSchedule?: string;
}

export class RackSchedules extends Construct {
  readonly groupName: string;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: RackSchedulesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.groupName = `slipway-${props.rackName}`;
    const group = new CfnScheduleGroup(this, 'Group', { name: this.groupName });
    this.role = new Role(this, 'Role', {
      description: `Slipway ${props.rackName}: EventBridge Scheduler starts timer runs and the daily cleanup`,
      // Only schedules of this account may use the role (the confused-deputy guard).
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
    });
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['states:StartExecution'], resources: [props.timerMachineArn, props.cleanupMachineArn] }));
    const cleanup = new CfnSchedule(this, 'DailyCleanup', {
      name: 'cleanup',
      groupName: this.groupName,
      description: 'Prunes old releases, bundles, images and jobs; frees expired deploy locks',
      scheduleExpression: props.cleanupSchedule ?? 'cron(0 4 * * ? *)',
      scheduleExpressionTimezone: 'UTC',
      flexibleTimeWindow: { mode: 'FLEXIBLE', maximumWindowInMinutes: 30 },
      target: { arn: props.cleanupMachineArn, roleArn: this.role.roleArn, input: '{}', retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 } },
    });
    cleanup.addResourceDependency(group);
  }
}

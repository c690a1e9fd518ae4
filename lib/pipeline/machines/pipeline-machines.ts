/**
 * The pipeline's four state machines as one construct: the AWS rack adds it to its stack with
 * the step Lambdas; the local rack synthesizes it in a throwaway stack and runs the ASL it gets
 * from the template. Either way the machines are the same definitions.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime as LambdaRuntime } from 'aws-cdk-lib/aws-lambda';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { DefinitionBody, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { CfnStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { StateMachineProps } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { CleanupConfig } from '../steps/cleanup';
import type { DeployConfig } from '../steps/deploy';
import { cleanupDefinition } from './cleanup';
import { deployDefinition } from './deploy';
import { rollbackDefinition } from './rollback';
import type { AslDefinition, SynthesizedMachine } from './template';
import { machinesFromTemplate } from './template';
import { timerDefinition } from './timer';

export const MACHINE_NAMES = ['Deploy', 'Rollback', 'Timer', 'Cleanup'] as const;
export type MachineName = (typeof MACHINE_NAMES)[number];

export interface PipelineMachinesProps {
  /** The function that runs a step (one per step, or one for all). */
  readonly stepFunction: (step: string) => IFunction;
  /** Defaults of console rollbacks and timer runs (their polling), which have no upload to carry them. */
  readonly deployDefaults: DeployConfig;
  readonly cleanup: CleanupConfig;
  /** The machines' names in the account (default: CloudFormation picks them). */
  readonly machineName?: (machine: MachineName) => string;
  /** Settings every machine shares (logging, tracing) on AWS. */
  readonly machineProps?: Omit<StateMachineProps, 'definitionBody' | 'definition'>;
}

export class PipelineMachines extends Construct {
  readonly machines: Readonly<Record<MachineName, StateMachine>>;

  constructor(scope: Construct, id: string, props: PipelineMachinesProps) {
    super(scope, id);
    const fn = props.stepFunction;
    const definitions = {
      Deploy: deployDefinition(this, fn),
      Rollback: rollbackDefinition(this, fn, props.deployDefaults),
      Timer: timerDefinition(this, fn, props.deployDefaults),
      Cleanup: cleanupDefinition(this, fn, props.cleanup),
    };
    this.machines = Object.fromEntries(
      MACHINE_NAMES.map((name) => [name, new StateMachine(this, name, { ...props.machineProps, ...(props.machineName ? { stateMachineName: props.machineName(name) } : {}), definitionBody: DefinitionBody.fromChainable(definitions[name]) })]),
    ) as Record<MachineName, StateMachine>;
  }
}

function throwawayStack(deployDefaults: DeployConfig, cleanup: CleanupConfig): { stack: Stack; pipeline: PipelineMachines } {
  const stack = new Stack(new App(), 'SlipwayLocalRack');
  const steps = new LambdaFunction(stack, 'Steps', { runtime: LambdaRuntime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => ({})') });
  return { stack, pipeline: new PipelineMachines(stack, 'Pipeline', { stepFunction: () => steps, deployDefaults, cleanup }) };
}

function pick(found: SynthesizedMachine[]): Record<MachineName, AslDefinition> {
  const definitionOf = (name: MachineName): AslDefinition => {
    // Without the CLI's path metadata the name is the logical id, which CDK prefixes with the construct's.
    const machine = found.find((m) => m.name === name || m.name === `Pipeline${name}`);
    if (!machine) throw new Error(`the synthesized template has no ${name} machine`);
    return machine.definition;
  };
  return Object.fromEntries(MACHINE_NAMES.map((n) => [n, definitionOf(n)])) as Record<MachineName, AslDefinition>;
}

/**
 * The machines' ASL as the rack's template holds them, for the local runner: each machine's
 * definition resolved exactly as synthesis resolves it into the template (a test holds the two
 * equal), without the seconds a whole synthesis takes.
 */
export function machineDefinitions(deployDefaults: DeployConfig, cleanup: CleanupConfig): Record<MachineName, AslDefinition> {
  const { stack, pipeline } = throwawayStack(deployDefaults, cleanup);
  const resources = Object.fromEntries(
    MACHINE_NAMES.map((name) => {
      const cfn = pipeline.machines[name].node.defaultChild as CfnStateMachine;
      return [stack.getLogicalId(cfn), { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: stack.resolve(cfn.definitionString) as unknown } }];
    }),
  );
  return pick(machinesFromTemplate({ Resources: resources }));
}

/** The machines synthesized in a whole template, as `cdk synth` writes it, and their ASL read from it. */
export function synthesizeMachines(deployDefaults: DeployConfig, cleanup: CleanupConfig): { definitions: Record<MachineName, AslDefinition>; template: Record<string, unknown> } {
  const { stack } = throwawayStack(deployDefaults, cleanup);
  const template = Template.fromStack(stack).toJSON() as Record<string, unknown>;
  return { definitions: pick(machinesFromTemplate(template)), template };
}

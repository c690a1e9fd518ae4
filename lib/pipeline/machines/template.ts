/**
 * The state machines as CloudFormation deploys them: their Amazon States Language, read from a
 * synthesised template. The local rack runs exactly this, so what runs locally is what AWS runs.
 * Intrinsic functions in the definition (the Lambda ARNs) become fixed local stand-ins.
 */
import { SlipwayError } from '../../errors';

export type AslState = { Type: string; [key: string]: unknown };
export type AslDefinition = { StartAt: string; States: Record<string, AslState>; [key: string]: unknown };

export interface SynthesizedMachine {
  /** The construct id of the state machine (`Deploy`, `Rollback`, ...). */
  readonly name: string;
  readonly logicalId: string;
  readonly definition: AslDefinition;
}

interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

const PSEUDO: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': 'local', 'AWS::AccountId': '000000000000', 'AWS::URLSuffix': 'amazonaws.com', 'AWS::StackName': 'local' };

/** Resolve the intrinsic functions CDK puts in a state machine definition to local stand-ins. */
function resolve(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (Array.isArray(v['Fn::Join'])) {
      const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(resolve).join(separator);
    }
    if (Array.isArray(v['Fn::GetAtt'])) {
      const [id, attribute] = v['Fn::GetAtt'] as [string, string];
      return attribute === 'Arn' ? `arn:aws:lambda:local:000000000000:function:${id}` : `${id}.${attribute}`;
    }
    if (typeof v.Ref === 'string') return PSEUDO[v.Ref] ?? v.Ref;
  }
  throw new SlipwayError(`unsupported value in a state machine definition: ${JSON.stringify(value).slice(0, 120)}`, 'ASL_UNRESOLVED');
}

export function machinesFromTemplate(template: { Resources?: Record<string, TemplateResource> }): SynthesizedMachine[] {
  const out: SynthesizedMachine[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Type !== 'AWS::StepFunctions::StateMachine') continue;
    // The construct id from the path metadata the CDK CLI adds; without it, the logical id less CDK's hash.
    const path = typeof resource.Metadata?.['aws:cdk:path'] === 'string' ? resource.Metadata['aws:cdk:path'].split('/') : undefined;
    const name = path ? ((path[path.length - 1] === 'Resource' ? path[path.length - 2] : path[path.length - 1]) ?? logicalId) : logicalId.replace(/[0-9A-F]{8}$/, '');
    const definition = JSON.parse(resolve(resource.Properties?.DefinitionString)) as AslDefinition;
    out.push({ name, logicalId, definition });
  }
  return out;
}

/** Every state of a definition of the given type, nested Map and Parallel states included. */
export function statesOfType(definition: AslDefinition, type: string): { name: string; state: AslState }[] {
  const out: { name: string; state: AslState }[] = [];
  const walk = (states: Record<string, AslState>): void => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === type) out.push({ name, state });
      for (const nested of [state.ItemProcessor, state.Iterator] as ({ States?: Record<string, AslState> } | undefined)[]) if (nested?.States) walk(nested.States);
      for (const branch of (state.Branches ?? []) as { States: Record<string, AslState> }[]) walk(branch.States);
    }
  };
  walk(definition.States);
  return out;
}

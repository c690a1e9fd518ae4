/**
 * The local runner executes the ASL CDK synthesises, Task by Task through in-process steps:
 * here on a small machine with every construct the pipeline's machines use (Task, Map, Wait loop,
 * Choice, Catch, Fail).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Choice, Condition, DefinitionBody, Fail, JsonPath, Map as MapState, StateMachine, Succeed, Wait, WaitTime } from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { LocalStateMachine, validateDefinition } from '../../lib/local/asl-runner';
import { stepTask } from '../../lib/pipeline/machines/step-task';
import type { AslDefinition } from '../../lib/pipeline/machines/template';
import { machinesFromTemplate } from '../../lib/pipeline/machines/template';

class BuildFailed extends Error {
  override name = 'BuildFailed';
}

function synthesize(): AslDefinition {
  const stack = new Stack(new App(), 'Fixture');
  const fn = new LambdaFunction(stack, 'Steps', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => ({})') });
  const failed = new Fail(stack, 'Failed', { errorPath: '$.error.Error', causePath: '$.error.Cause' });
  const builds = new MapState(stack, 'Builds', { itemsPath: '$.services', resultPath: '$.images' });
  builds.itemProcessor(stepTask(stack, 'Build', { step: 'build', fn }));
  builds.addCatch(failed, { errors: ['BuildFailed'], resultPath: '$.error' });
  const wait = new Wait(stack, 'WaitForRollout', { time: WaitTime.secondsPath('$.pollSeconds') });
  const status = stepTask(stack, 'RolloutStatus', { step: 'rolloutStatus', fn, input: { app: JsonPath.stringAt('$.app'), owner: JsonPath.stringAt('$$.Execution.Name') }, resultPath: '$.rollout' });
  const definition = stepTask(stack, 'Plan', { step: 'plan', fn })
    .next(builds)
    .next(wait)
    .next(status)
    .next(new Choice(stack, 'RolledOut?').when(Condition.booleanEquals('$.rollout.done', true), new Succeed(stack, 'Deployed')).otherwise(wait));
  new StateMachine(stack, 'Deploy', { definitionBody: DefinitionBody.fromChainable(definition) });
  const [machine] = machinesFromTemplate(Template.fromStack(stack).toJSON());
  expect(machine?.name).toBe('Deploy');
  return machine!.definition;
}

const definition = synthesize();

describe('the local ASL runner', () => {
  it('runs the synthesised definition, calling each step in process', async () => {
    const calls: string[] = [];
    let polls = 0;
    const machine = new LocalStateMachine('Deploy', definition, (step, input, ctx) => {
      calls.push(`${ctx.stateName}:${step}`);
      switch (step) {
        case 'plan':
          return Promise.resolve({ ...(input as object), services: ['web', 'worker'] });
        case 'build':
          return Promise.resolve({ service: input, image: `${String(input)}.BABCDEFGHIJ` });
        case 'rolloutStatus':
          expect(input).toEqual({ app: 'shop', owner: 'upload-v1' });
          return Promise.resolve({ done: ++polls === 3 });
        default:
          return Promise.reject(new Error(`unknown step ${step}`));
      }
    });
    const outcome = await machine.start({ app: 'shop', pollSeconds: 5 }, { executionName: 'upload-v1', waitMs: 1 }).outcome;
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', output: { images: [{ service: 'web' }, { service: 'worker' }], rollout: { done: true } } });
    expect(calls.filter((c) => c.endsWith('rolloutStatus'))).toHaveLength(3);
    expect(calls[0]).toBe('Plan:plan');
  });

  it('routes a step\u2019s error by its name, as Lambda errors are routed on AWS', async () => {
    const machine = new LocalStateMachine('Deploy', definition, (step, input) =>
      step === 'build' ? Promise.reject(new BuildFailed(`Dockerfile of ${String(input)} did not build`)) : Promise.resolve({ ...(input as object), services: ['web'] }),
    );
    expect(await machine.start({ app: 'shop', pollSeconds: 1 }, { executionName: 'upload-v2', waitMs: 1 }).outcome).toEqual({
      status: 'FAILED',
      error: 'BuildFailed',
      cause: 'Dockerfile of web did not build',
    });
  });

  it('is loaded with Promise.withResolvers in place, without which every Task would fail silently', () => {
    expect(typeof (Promise as unknown as { withResolvers?: unknown }).withResolvers).toBe('function');
  });

  it('refuses definitions asl-validator rejects, and features the local runner would ignore', () => {
    expect(() => validateDefinition('Broken', { StartAt: 'Nowhere', States: {} })).toThrow(/not valid ASL/);
    const withAssign = structuredClone(definition);
    (withAssign.States.Plan as Record<string, unknown>).Assign = { x: 1 };
    expect(() => validateDefinition('Assigning', withAssign)).toThrow(/Assign/);
    expect(() => validateDefinition('Jsonata', { ...structuredClone(definition), QueryLanguage: 'JSONata' })).toThrow();
    expect(() => validateDefinition('ExplicitJsonPath', { ...structuredClone(definition), QueryLanguage: 'JSONPath' })).not.toThrow();
  });

  it('leaves the definition it validates untouched', () => {
    const before = JSON.stringify(definition);
    validateDefinition('Deploy', definition);
    expect(JSON.stringify(definition)).toBe(before);
  });
});

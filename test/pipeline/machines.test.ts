/** The four state machines as CDK synthesises them, and proof that the local rack runs exactly that ASL. */
import { describe, expect, it } from 'vitest';
import { validateDefinition } from '../../lib/local/asl-runner';
import { statesOfType } from '../../lib/pipeline/machines/template';
import { machineDefinitions } from '../../lib/pipeline/machines/pipeline-machines';
import { CLEANUP_CONFIG, CONFIG, localPipeline, synthesizeMachines } from '../support/local-pipeline';

describe('the synthesised state machines', () => {
  const { deploy, rollback, timer, cleanup, template } = synthesizeMachines();
  const all = { Deploy: deploy, Rollback: rollback, Timer: timer, Cleanup: cleanup };

  it('are valid ASL, on JSONPath only, with every Task naming a step', () => {
    for (const [name, definition] of Object.entries(all)) {
      expect(() => validateDefinition(name, definition)).not.toThrow();
      for (const { name: state, state: task } of statesOfType(definition, 'Task')) {
        expect((task.Parameters as { step?: unknown }).step, `${name}.${state}`).toEqual(expect.any(String));
      }
    }
  });

  it('are what the local rack executes: the definitions read from the template, unchanged', async () => {
    const p = await localPipeline();
    const resources = Object.values(template.Resources as Record<string, { Type: string; Properties: { DefinitionString: unknown } }>).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
    expect(resources).toHaveLength(4);
    expect(p.machine.definition).toEqual(deploy);
    // The local rack resolves each definition without a whole synthesis: the result is the template's.
    const resolved = machineDefinitions(CONFIG, CLEANUP_CONFIG);
    expect(resolved).toEqual({ Deploy: deploy, Rollback: rollback, Timer: timer, Cleanup: cleanup });
    // The template's definition with the Lambda ARNs put back as CloudFormation tokens is the one the runner holds.
    const serialised = JSON.stringify(resources.map((r) => r.Properties.DefinitionString));
    for (const step of statesOfType(deploy, 'Task').map((t) => (t.state.Parameters as { step: string }).step)) expect(serialised).toContain(`\\"step\\":\\"${step}\\"`);
  });

  it('wait between polls for as long as their input says', () => {
    for (const definition of [deploy, rollback, timer]) {
      for (const { state } of statesOfType(definition, 'Wait')) expect(state.SecondsPath).toMatch(/^\$\.(config\.)?(pollSeconds|queuePollSeconds)$/);
    }
  });
});

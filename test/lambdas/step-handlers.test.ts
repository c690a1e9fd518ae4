/** The step Lambdas' shared handler: payload checks and the mapping of errors to the machines' named errors. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTransient, stepHandler, toStepError } from '../../lambdas/shared/step-handler';
import { stepEntryFile } from '../../lib/aws/rack-pipeline';
import { STEP_CAPABILITIES, STEP_NAMES } from '../../lib/aws/step-capabilities';
import { SlipwayError } from '../../lib/errors';
import { STEP_ERRORS } from '../../lib/pipeline/machines/step-errors';
import { DeployStepError } from '../../lib/pipeline/steps/deploy';
import { machineDefinitions } from '../../lib/pipeline/machines/pipeline-machines';
import { statesOfType } from '../../lib/pipeline/machines/template';
import { LOCAL_CLEANUP_CONFIG, LOCAL_DEPLOY_CONFIG } from '../../lib/local/rack/local-rack';
import { REPO_ROOT as ROOT } from '../support/paths';


describe('the step handlers', () => {
  it('exist once per step the machines call, and only the cluster steps load the cluster client', () => {
    const definitions = machineDefinitions(LOCAL_DEPLOY_CONFIG, LOCAL_CLEANUP_CONFIG);
    const called = new Set(Object.values(definitions).flatMap((d) => statesOfType(d, 'Task').map((t) => (t.state.Parameters as { step: string }).step)));
    expect([...called].sort()).toEqual([...STEP_NAMES].sort());
    const files = readdirSync(join(ROOT, 'lambdas', 'steps')).sort();
    expect(files).toEqual(STEP_NAMES.map(stepEntryFile).sort());
    for (const step of STEP_NAMES) {
      const text = readFileSync(join(ROOT, 'lambdas', 'steps', stepEntryFile(step)), 'utf8');
      expect(text.includes('eksClusterPorts'), step).toBe((STEP_CAPABILITIES[step] as readonly string[]).includes('cluster'));
      expect(text).toContain(`stepHandler('${step}', ${step}`);
    }
  });

  it('passes the errors the machines route on unchanged, by name', () => {
    for (const name of ['BundleRejected', 'DeployRejected', 'BuildFailed', 'ProvisionFailed', 'LockLost'] as const) {
      const mapped = toStepError(new DeployStepError(name, `the ${name} message`));
      expect([mapped.name, mapped.message]).toEqual([name, `the ${name} message`]);
      expect(STEP_ERRORS).toHaveProperty(name);
    }
  });

  it('maps throttling, service failures and dropped connections to StepTransient, which every step task retries', () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    const unavailable = Object.assign(new Error('oops'), { name: 'InternalError', $metadata: { httpStatusCode: 503 } });
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const cluster429 = Object.assign(new Error('too many requests'), { statusCode: 429 });
    for (const e of [throttled, unavailable, reset, cluster429]) expect(toStepError(e).name).toBe('StepTransient');
    expect(isTransient(Object.assign(new Error('denied'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } }))).toBe(false);
    const definitions = machineDefinitions(LOCAL_DEPLOY_CONFIG, LOCAL_CLEANUP_CONFIG);
    for (const d of Object.values(definitions)) {
      for (const task of statesOfType(d, 'Task')) expect((task.state.Retry as { ErrorEquals: string[] }[]).some((r) => r.ErrorEquals.includes('StepTransient')), task.name).toBe(true);
    }
  });

  it('maps everything else to StepFailed with its message, which the machines catch as a failure', () => {
    expect(toStepError(new SlipwayError('release RX not found', 'NOT_FOUND'))).toMatchObject({ name: 'StepFailed', message: 'release RX not found' });
    expect(toStepError(new TypeError('x is undefined'))).toMatchObject({ name: 'StepFailed', message: 'TypeError: x is undefined' });
  });

  it('refuses a payload for another step, so a miswired machine fails loudly', async () => {
    const handler = stepHandler('admit', () => Promise.resolve('ran'));
    await expect(handler({ step: 'promote', input: {} })).rejects.toMatchObject({ name: 'StepFailed', message: expect.stringContaining('runs the admit step') as unknown });
  });

  it('reports a function deployed without the rack\u2019s environment, and tries again on the next call', async () => {
    const handler = stepHandler('listApps', () => Promise.resolve('ran'));
    await expect(handler({ step: 'listApps', input: {} })).rejects.toMatchObject({ name: 'StepFailed', message: expect.stringContaining('SLIPWAY_TABLE') as unknown });
    await expect(handler({ step: 'listApps', input: {} })).rejects.toMatchObject({ name: 'StepFailed' });
  });
});

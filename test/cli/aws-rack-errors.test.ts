/**
 * Pointing the CLI at an AWS rack from a machine that cannot reach one (no region, no
 * credentials: this machine has no AWS) gives one line saying what to do, not a stack trace.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';

const home = mkdtempSync(`${tmpdir()}/slipway-no-aws-`);
// No credentials anywhere the SDK's chain looks: no variables, no ~/.aws, no instance metadata.
const noAws = { HOME: home, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '', AWS_PROFILE: '', AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: `${home}/none`, AWS_SHARED_CREDENTIALS_FILE: `${home}/none`, SLIPWAY_RACK: '' };

describe('the CLI against an AWS rack it cannot reach', () => {
  it('without a region, says how to give one', async () => {
    const r = await runCli(['apps', '-r', 'myrack'], { env: { ...noAws, AWS_REGION: '', AWS_DEFAULT_REGION: '' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: no AWS region: pass --region, set AWS_REGION, or give your profile a region\n');
  }, 60_000);

  it('without credentials, says how to configure them, with no stack trace and no SDK warning', async () => {
    const r = await runCli(['apps', 'create', 'myapp', '-r', 'myrack', '--region', 'eu-west-1'], { env: noAws });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: no AWS credentials: configure them with `aws configure`, AWS_PROFILE, or the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY variables\n');
  }, 60_000);
});

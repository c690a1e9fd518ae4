/**
 * Every command of the monolith-to-microservices guide, written with `slipway` for `convox`, is
 * one the CLI knows with the flags the guide gives it. Run where no rack is reachable (no local
 * rack on the state folder, no AWS), each gets past parsing and stops at the rack with a clear
 * error, or, where no rack is needed, does its work.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCliMany } from '../support/cli';

const GUIDE_COMMANDS = [
  'login console.convox.com -t cli-key',
  'apps create myapp -r myrack',
  'deploy -a myapp',
  'releases rollback RBCDEFGHIJK -a myapp',
  'env set MYDB_URL=postgres://user:pass@prod-db.amazonaws.com:5432/db -r production',
  'scale notifications --count 5 --cpu 256 --memory 512 -a myapp',
  'logs -a myapp',
  'logs -a myapp -s notifications',
  'logs -a myapp -s web --since 1h',
  'logs -a myapp -s notifications --follow',
  'logs -a myapp --filter error',
  'rack params set monitoring=true -r myrack',
  'services -a myapp',
  'test -a myapp',
  'deploy -a myapp --wait',
  'apps create myapp-new -r staging',
  'deploy -a myapp-new',
];

// The guide runs its commands from the app's folder: commands without -a take the app from its name.
let appDir: string;

beforeAll(() => {
  // The CLI processes inherit this: a local rack folder with no rack, and no AWS anywhere.
  const home = mkdtempSync(`${tmpdir()}/slipway-guide-`);
  appDir = `${home}/myapp`;
  mkdirSync(appDir);
  Object.assign(process.env, { SLIPWAY_STATE_DIR: `${home}/no-rack`, SLIPWAY_RACK: '', HOME: home, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: `${home}/none`, AWS_SHARED_CREDENTIALS_FILE: `${home}/none` });
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) delete process.env[name];
});

describe('the guide\u2019s commands', () => {
  it('each parses, and stops at the missing rack with a clear error (or needs none)', async () => {
    const runs = await runCliMany(GUIDE_COMMANDS, (command) => command.split(' '), 4, { cwd: appDir });
    const results = GUIDE_COMMANDS.map((command, i) => ({ command, code: runs[i]?.code, stderr: runs[i]?.stderr ?? '' }));
    for (const r of results) {
      expect(r.stderr, r.command).not.toMatch(/unknown (option|command)|too many arguments|missing required/);
      expect(r.code, `${r.command}: ${r.stderr}`).not.toBe(2);
    }
    const needNoRack = ['login console.convox.com -t cli-key', 'rack params set monitoring=true -r myrack'];
    for (const r of results.filter((x) => needNoRack.includes(x.command))) expect(r.code, `${r.command}: ${r.stderr}`).toBe(0);
    for (const r of results.filter((x) => !needNoRack.includes(x.command))) {
      expect(r.code, r.command).toBe(1);
      expect(r.stderr, r.command).toMatch(/^error: (the local rack is not running|no AWS region|no AWS credentials)/);
    }
  }, 120_000);
});

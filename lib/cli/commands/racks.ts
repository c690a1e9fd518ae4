/**
 * `racks` (the local rack and the AWS racks of a region), `rack` (the selected rack's status and
 * where it is), `rack params` and `rack params set`.
 *
 * An AWS rack's parameters are its CDK context: they change with `npx cdk deploy -c key=value`,
 * which the CLI cannot do for you without the project's CDK app, so `rack params set` says which
 * command to run instead of half-changing a stack.
 */
import { SlipwayError } from '../../errors';
import { defaultStateDir, RackClient } from '../../local/rack/client';
import type { CliIO } from '../io';
import { LOCAL_RACK, openRack, rackName } from '../context';
import { printInfo, printList } from '../output';
import type { RackFlags } from './target';
import { outputOf } from './target';

interface RackRow {
  readonly name: string;
  readonly kind: string;
  readonly status: string;
  readonly location: string;
}

export async function racksCommand(io: CliIO, flags: RackFlags): Promise<void> {
  const stateDir = defaultStateDir(flags.stateDir);
  const local = await RackClient.connect(stateDir).then(
    () => 'running',
    () => 'stopped',
  );
  const rows: RackRow[] = [{ name: LOCAL_RACK, kind: 'local', status: local, location: stateDir }];
  const region = flags.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (region) {
    try {
      const { findAwsRacks } = await import('../racks/aws-rack-connection');
      for (const rack of await findAwsRacks(region)) rows.push({ name: rack.name, kind: 'aws', status: rack.status, location: rack.region });
    } catch (e) {
      io.stderr.write(`(AWS racks in ${region} could not be listed: ${(e as Error).message})\n`);
    }
  } else {
    io.stderr.write('(set AWS_REGION or pass --region to list the AWS racks of a region too)\n');
  }
  printList(io, outputOf(flags), rows, [
    ['NAME', (r) => r.name],
    ['KIND', (r) => r.kind],
    ['STATUS', (r) => r.status],
    ['WHERE', (r) => r.location],
  ]);
}

export async function rackInfoCommand(io: CliIO, flags: RackFlags): Promise<void> {
  const rack = await openRack(io.cwd, flags);
  const info = await rack.info();
  printInfo(
    io,
    outputOf(flags),
    [
      ['Name', info.name],
      ['Provider', info.kind === 'local' ? 'local' : 'aws'],
      ['Status', info.status],
      [info.kind === 'local' ? 'State' : 'Region', info.location],
      ...Object.entries(info.parameters).map(([k, v]) => [k, v] as const),
    ],
    info,
  );
}

export async function rackParamsCommand(io: CliIO, flags: RackFlags): Promise<void> {
  const info = await (await openRack(io.cwd, flags)).info();
  const rows = Object.entries(info.parameters).sort(([a], [b]) => a.localeCompare(b));
  printList(io, outputOf(flags), rows, [
    ['NAME', ([k]) => k],
    ['VALUE', ([, v]) => v],
  ], info.parameters);
}

/**
 * Parameters a rack has by construction. `monitoring` (Convox's switch for metrics) is always on
 * in Slipway: every rack emits metrics, dashboards and alarms, so setting it true changes nothing.
 */
const ALWAYS_ON: Readonly<Record<string, string>> = { monitoring: 'true' };

export function rackParamsSetCommand(io: CliIO, flags: RackFlags & { pairs: string[] }): Promise<void> {
  const name = rackName(io.cwd, flags.rack);
  for (const pair of flags.pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new SlipwayError(`${JSON.stringify(pair)} is not NAME=VALUE`, 'USAGE');
    const key = pair.slice(0, at);
    const value = pair.slice(at + 1);
    const fixed = ALWAYS_ON[key];
    if (fixed !== undefined) {
      if (value !== fixed) throw new SlipwayError(`${key} is always ${fixed} on a Slipway rack (metrics, dashboards and alarms are part of every rack) and cannot be turned off`, 'USAGE', { key });
      io.stdout.write(`${key} is already ${fixed} on rack ${name}: nothing to change\n`);
      continue;
    }
    if (name === LOCAL_RACK) throw new SlipwayError(`the local rack has no parameter ${JSON.stringify(key)}; its settings are \`slipway rack start\` flags (--port, --state-dir)`, 'USAGE', { key });
    throw new SlipwayError(`an AWS rack's parameters are its CDK context: run \`npx cdk deploy -c slipway:${key}=${value}\` in the project that deployed rack ${name} (see docs/aws-rack.md for the keys)`, 'USAGE', { key });
  }
  return Promise.resolve();
}

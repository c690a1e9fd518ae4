/** What every app command resolves first: the rack connection and the app. */
import type { CliIO } from '../io';
import type { RackOptions } from '../context';
import { appName, openRack } from '../context';
import type { OutputFormat } from '../output';
import type { RackConnection } from '../racks/rack-connection';

export interface RackFlags extends RackOptions {
  readonly output?: OutputFormat;
}

export interface AppFlags extends RackFlags {
  readonly app?: string;
}

export async function appTarget(io: CliIO, flags: AppFlags): Promise<{ rack: RackConnection; app: string }> {
  const app = appName(io.cwd, flags.app);
  return { rack: await openRack(io.cwd, flags), app };
}

export function outputOf(flags: RackFlags): OutputFormat {
  return flags.output ?? 'table';
}

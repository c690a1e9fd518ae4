/**
 * `apps`: list, create, delete, info, cancel, unpin. Creating and deleting an app are record
 * changes; cancelling a deploy stops its execution and puts back the release that served before,
 * through the Rollback machine.
 */
import type { App } from '../../pipeline/domain/model';
import type { CliIO } from '../io';
import { CommandFailed } from '../io';
import { openRack } from '../context';
import { appName } from '../context';
import { failureReason, followExecution } from '../follow';
import { printInfo, printList, when } from '../output';
import type { AppFlags, RackFlags } from './target';
import { appTarget, outputOf } from './target';

function appStatus(app: App): string {
  if (app.pin) return 'pinned';
  return app.release ? 'running' : 'created';
}

export async function appsListCommand(io: CliIO, flags: RackFlags): Promise<void> {
  const rack = await openRack(io.cwd, flags);
  const apps = await rack.apps();
  printList(io, outputOf(flags), apps, [
    ['APP', (a) => a.name],
    ['STATUS', appStatus],
    ['RELEASE', (a) => a.release],
  ]);
}

export async function appsCreateCommand(io: CliIO, flags: AppFlags & { name?: string }): Promise<void> {
  const name = appName(io.cwd, flags.name ?? flags.app);
  const rack = await openRack(io.cwd, flags);
  await rack.createApp(name);
  io.stdout.write(`Creating ${name}... OK\n`);
}

export async function appsDeleteCommand(io: CliIO, flags: RackFlags & { name: string; wait: boolean }): Promise<void> {
  const name = appName(io.cwd, flags.name);
  const rack = await openRack(io.cwd, flags);
  const execution = await rack.deleteApp(name);
  if (execution && flags.wait) {
    const result = await followExecution(rack, name, execution, io.stdout);
    if (result.status.status !== 'SUCCEEDED') {
      io.stderr.write(`error: deleting ${name} failed: ${failureReason(result).reason}\n`);
      throw new CommandFailed(1);
    }
  }
  io.stdout.write(`Deleting ${name}... OK\n`);
}

export async function appsInfoCommand(io: CliIO, flags: AppFlags & { name?: string }): Promise<void> {
  const name = appName(io.cwd, flags.name ?? flags.app);
  const rack = await openRack(io.cwd, flags);
  const app = await rack.app(name);
  const services = await rack.services(name).catch(() => []);
  printInfo(
    io,
    outputOf(flags),
    [
      ['Name', app.name],
      ['Status', appStatus(app)],
      ['Release', app.release],
      ['Created', when(app.createdAt)],
      ['Pinned', app.pin ? `to ${app.pin.release} by ${app.pin.by}: ${app.pin.reason}` : 'no'],
      ['Router', services.filter((s) => s.url).map((s) => s.url).join(' ')],
    ],
    { ...app, services },
  );
}

export async function appsCancelCommand(io: CliIO, flags: AppFlags & { name?: string; wait: boolean }): Promise<void> {
  const { rack, app } = await appTarget(io, { ...flags, ...(flags.name ? { app: flags.name } : {}) });
  const execution = await rack.cancel(app);
  io.stdout.write(`Cancelling the deploy of ${app}... OK\n`);
  if (!flags.wait) return;
  io.stdout.write('Rewriting the last active release...\n');
  const result = await followExecution(rack, app, execution, io.stdout);
  if (result.status.status !== 'SUCCEEDED') {
    io.stderr.write(`error: putting back the last release failed: ${failureReason(result).reason}\n`);
    throw new CommandFailed(1);
  }
  io.stdout.write('OK\n');
}

export async function appsUnpinCommand(io: CliIO, flags: AppFlags & { name?: string }): Promise<void> {
  const { rack, app } = await appTarget(io, { ...flags, ...(flags.name ? { app: flags.name } : {}) });
  await rack.unpin(app);
  io.stdout.write(`Unpinned ${app}: uploads deploy again\n`);
}

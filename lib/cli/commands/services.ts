/**
 * What runs: `scale` (read-only without flags; with them, a change rolled out through the
 * Rollback machine), `ps`, `services`, and `timers`.
 */
import { SlipwayError } from '../../errors';
import type { CliIO } from '../io';
import { CommandFailed } from '../io';
import { followExecution } from '../follow';
import { printList, when } from '../output';
import type { RackConnection, ScaleChange, ServiceScale } from '../racks/rack-connection';
import { failedExitCode, reportFailure } from './deploy';
import type { AppFlags } from './target';
import { appTarget, outputOf } from './target';

export interface ScaleFlags extends AppFlags {
  readonly service?: string;
  readonly count?: number;
  readonly cpu?: number;
  readonly memory?: number;
  readonly wait: boolean;
}

export async function scaleCommand(io: CliIO, flags: ScaleFlags): Promise<void> {
  const change: ScaleChange = { ...(flags.count !== undefined ? { count: flags.count } : {}), ...(flags.cpu !== undefined ? { cpu: flags.cpu } : {}), ...(flags.memory !== undefined ? { memory: flags.memory } : {}) };
  const { rack, app } = await appTarget(io, flags);
  if (Object.keys(change).length === 0) {
    const all = await withRunningCounts(rack, app, await rack.scale(app));
    const rows = flags.service ? all.filter((s) => s.service === flags.service) : all;
    if (flags.service && rows.length === 0) throw new SlipwayError(`service ${JSON.stringify(flags.service)} not found in app ${app}`, 'NOT_FOUND', { app, service: flags.service });
    printList(io, outputOf(flags), rows, [
      ['SERVICE', (s) => s.service],
      ['DESIRED', (s) => s.desired],
      ['RUNNING', (s) => s.running ?? '?'],
      ['CPU', (s) => s.cpu],
      ['MEMORY', (s) => s.memory],
    ]);
    return;
  }
  if (!flags.service) throw new SlipwayError('service name required: slipway scale SERVICE --count N', 'USAGE');
  const execution = await rack.setScale(app, flags.service, change);
  const what = Object.entries(change).map(([k, v]) => `${k}=${String(v)}`).join(' ');
  io.stdout.write(`Scaling ${flags.service} of ${app} (${what})... OK\n`);
  if (!execution || !flags.wait) return;
  const result = await followExecution(rack, app, execution, io.stdout);
  if (result.status.status !== 'SUCCEEDED') {
    await reportFailure(io, rack, app, result, 'scale');
    throw new CommandFailed(failedExitCode(result));
  }
}

/** Where the rack's scale does not count running processes (an AWS rack), count them from its process list. */
export async function withRunningCounts(rack: RackConnection, app: string, scale: ServiceScale[]): Promise<ServiceScale[]> {
  if (scale.every((s) => s.running !== undefined)) return scale;
  const processes = await rack.processes(app).catch(() => undefined);
  if (!processes) return scale;
  return scale.map((s) => ({ ...s, running: processes.filter((p) => p.service === s.service && p.status === 'running').length }));
}

export async function psCommand(io: CliIO, flags: AppFlags & { service?: string; release?: string }): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  const processes = (await rack.processes(app)).filter((p) => (!flags.service || p.service === flags.service) && (!flags.release || p.release === flags.release));
  printList(io, outputOf(flags), processes, [
    ['ID', (p) => p.id],
    ['SERVICE', (p) => p.service],
    ['STATUS', (p) => p.status],
    ['RELEASE', (p) => p.release],
    ['STARTED', (p) => when(p.started)],
    ['COMMAND', (p) => p.command],
  ]);
}

export async function servicesCommand(io: CliIO, flags: AppFlags): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  const services = await rack.services(app);
  printList(io, outputOf(flags), services, [
    ['SERVICE', (s) => s.service],
    ['URL', (s) => (s.internal ? '(internal)' : s.url || s.note)],
    ['INTERNAL', (s) => s.internalName],
  ]);
}

export async function timersCommand(io: CliIO, flags: AppFlags): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  const timers = await rack.timers(app);
  printList(io, outputOf(flags), timers, [
    ['TIMER', (t) => t.name],
    ['SCHEDULE', (t) => t.schedule],
    ['SERVICE', (t) => t.service],
    ['COMMAND', (t) => t.command],
  ]);
}

export async function timersRunCommand(io: CliIO, flags: AppFlags & { timer: string; wait: boolean }): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  const execution = await rack.runTimer(app, flags.timer);
  io.stdout.write(`Running timer ${flags.timer} of ${app} (${execution.name})\n`);
  if (!flags.wait) return;
  const result = await followExecution(rack, app, execution, io.stdout);
  if (result.status.status !== 'SUCCEEDED') {
    await reportFailure(io, rack, app, result, `timer ${flags.timer}`);
    throw new CommandFailed(1);
  }
}

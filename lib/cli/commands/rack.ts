/**
 * `slipway rack start --local`, `rack stop`, `rack status`: the local rack as a process. In the
 * foreground it prints the pipeline's events and the apps' logs as they happen; `--detach` leaves
 * it running in the background with its output in `<state dir>/rack.log`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SlipwayEvent } from '../../pipeline/events';
import { RackApiServer } from '../../local/rack/api-server';
import type { RackEndpoint } from '../../local/rack/api-server';
import { processAlive, RackClient, RackNotRunningError } from '../../local/rack/client';
import { LocalRack } from '../../local/rack/local-rack';
import type { LocalRackOptions } from '../../local/rack/local-rack';
import type { LogLine } from '../../local/runtime/local-runtime';
import type { CliIO } from '../io';
import { CommandFailed } from '../io';
import { clock, describeEvent } from '../follow';

export interface RunningRack {
  readonly rack: LocalRack;
  readonly endpoint: RackEndpoint;
  /** Resolves once the rack has stopped (Ctrl-C, `rack stop`, or `stop()`). */
  readonly stopped: Promise<void>;
  stop(): Promise<void>;
}


export function formatLog(line: LogLine): string {
  return `${clock(line.time)} ${line.app} ${line.service === '-' ? 'rack' : line.process} ${line.text}`;
}

/** The rack prints every app's events: each line names its app. */
export function formatEvent(event: SlipwayEvent): string {
  return `${clock(event.time)} ${event.detail.app} event ${describeEvent(event)}`;
}

/**
 * Run the rack in this process until SIGINT/SIGTERM or `rack stop`. Stopping ends every process
 * and server the rack started, so nothing is left behind.
 */
export async function runRack(io: CliIO, options: Omit<LocalRackOptions, 'onLog' | 'onEvent' | 'onBuildOutput'>): Promise<RunningRack> {
  const rack = await LocalRack.start({
    ...options,
    onLog: (line) => void io.stdout.write(`${formatLog(line)}\n`),
    onEvent: (event) => void io.stdout.write(`${formatEvent(event)}\n`),
    onBuildOutput: (line) => void io.stdout.write(`${clock(new Date().toISOString())} ${line.app} build ${line.services.join('+')} ${line.text}\n`),
  });
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      io.stdout.write('stopping the local rack\n');
      await api.stop();
      await rack.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolveStopped();
    })());
  const onSignal = (): void => void stop();
  const api = new RackApiServer(rack, onSignal);
  const endpoint = await api.start();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  io.stdout.write(`local rack ${endpoint.name} running (pid ${endpoint.pid}); apps are served at http://<service>.<app>.localhost:${endpoint.routerPort}\n`);
  return { rack, endpoint, stopped, stop };
}

export async function rackStartCommand(io: CliIO, options: { stateDir: string; detach: boolean; port?: number }): Promise<void> {
  const existing = await RackClient.connect(options.stateDir).catch(() => undefined);
  if (existing) {
    io.stdout.write(`the local rack already runs (pid ${existing.endpoint.pid}, router port ${existing.endpoint.routerPort})\n`);
    return;
  }
  if (options.detach) return detach(io, options);
  const running = await runRack(io, { stateDir: options.stateDir, ...(options.port !== undefined ? { routerPort: options.port } : {}) });
  await running.stopped;
}

/** Start the rack as a background process and wait until its API answers. */
async function detach(io: CliIO, options: { stateDir: string; port?: number }): Promise<void> {
  mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  const log = openSync(join(options.stateDir, 'rack.log'), 'a', 0o600);
  const cli = fileURLToPath(new URL('../../../bin/slipway.mjs', import.meta.url));
  const args = [cli, 'rack', 'start', '--local', '--state-dir', options.stateDir, ...(options.port !== undefined ? ['--port', String(options.port)] : [])];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const client = await RackClient.connect(options.stateDir).catch(() => undefined);
    if (client && client.endpoint.pid === child.pid) {
      io.stdout.write(`local rack started in the background (pid ${client.endpoint.pid}); apps are served at http://<service>.<app>.localhost:${client.endpoint.routerPort}\nits output: ${join(options.stateDir, 'rack.log')}\n`);
      return;
    }
    if (child.pid === undefined || !processAlive(child.pid)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  io.stderr.write(`the local rack did not start; see ${join(options.stateDir, 'rack.log')}\n`);
  throw new CommandFailed(1);
}

export async function rackStopCommand(io: CliIO, options: { stateDir: string }): Promise<void> {
  let client: RackClient;
  try {
    client = await RackClient.connect(options.stateDir);
  } catch (e) {
    if (!(e instanceof RackNotRunningError)) throw e;
    io.stdout.write('the local rack is not running\n');
    return;
  }
  await client.request('POST', '/v1/rack/stop');
  const deadline = Date.now() + 60_000;
  while (processAlive(client.endpoint.pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (processAlive(client.endpoint.pid)) {
    io.stderr.write(`the local rack (pid ${client.endpoint.pid}) did not stop within a minute\n`);
    throw new CommandFailed(1);
  }
  io.stdout.write('local rack stopped\n');
}

export async function rackStatusCommand(io: CliIO, options: { stateDir: string; json: boolean }): Promise<void> {
  const client = await RackClient.connect(options.stateDir);
  const status = await client.request<{ name: string; pid: number; routerPort: number; apps: number; stateDir: string }>('GET', '/v1/rack');
  if (options.json) {
    io.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    return;
  }
  io.stdout.write(`name     ${status.name}\nstatus   running\npid      ${status.pid}\nrouter   http://<service>.<app>.localhost:${status.routerPort}\napps     ${status.apps}\nstate    ${status.stateDir}\n`);
}

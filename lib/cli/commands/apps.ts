/**
 * The app commands that talk to the local rack: `apps`, `apps create`, `apps unpin`, `env set`,
 * `deploy`, `releases`, `releases rollback`, `timers run`. A deploy or rollback is followed event
 * by event until its state machine ends; the exit code says how: 0 deployed, 1 failed with
 * nothing changed, 3 rolled back.
 */
import { resolve } from 'node:path';
import type { Release } from '../../pipeline/domain/model';
import type { SlipwayEvent } from '../../pipeline/events';
import { packDirectory } from '../../pipeline/bundle/pack';
import type { ExecutionRecord } from '../../local/executions';
import { RackClient } from '../../local/rack/client';
import type { LogLine } from '../../local/runtime/local-runtime';
import type { CliIO } from '../io';
import { CommandFailed } from '../io';
import { formatEvent } from './rack';

export const EXIT_ROLLED_BACK = 3;

interface AppView {
  name: string;
  release?: string;
  pin?: { release: string; by: string; reason: string };
  urls: { service: string; url: string; internal: boolean; internalName?: string }[];
}

export async function appsCommand(io: CliIO, options: { stateDir: string }): Promise<void> {
  const apps = await (await RackClient.connect(options.stateDir)).request<AppView[]>('GET', '/v1/apps');
  io.stdout.write(`${'APP'.padEnd(20)}${'RELEASE'.padEnd(14)}STATUS\n`);
  for (const a of apps) io.stdout.write(`${a.name.padEnd(20)}${(a.release ?? '').padEnd(14)}${a.pin ? `pinned to ${a.pin.release}` : a.release ? 'running' : 'created'}\n`);
}

export async function appsCreateCommand(io: CliIO, options: { stateDir: string; app: string }): Promise<void> {
  await (await RackClient.connect(options.stateDir)).request('POST', '/v1/apps', { name: options.app });
  io.stdout.write(`created app ${options.app}\n`);
}

export async function appsUnpinCommand(io: CliIO, options: { stateDir: string; app: string }): Promise<void> {
  await (await RackClient.connect(options.stateDir)).request('POST', `/v1/apps/${encodeURIComponent(options.app)}/unpin`);
  io.stdout.write(`unpinned ${options.app}: uploads deploy again\n`);
}

/** `env set KEY=VALUE...`: a new env version; values are never echoed. */
export async function envSetCommand(io: CliIO, options: { stateDir: string; app: string; pairs: string[] }): Promise<void> {
  const set: Record<string, string> = {};
  for (const pair of options.pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) {
      io.stderr.write(`error: ${JSON.stringify(pair.split('=')[0])} is not KEY=VALUE\n`);
      throw new CommandFailed(1);
    }
    set[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const { version } = await (await RackClient.connect(options.stateDir)).request<{ version: number }>('PATCH', `/v1/apps/${encodeURIComponent(options.app)}/env`, { set });
  io.stdout.write(`set ${Object.keys(set).sort().join(', ')} on ${options.app} (env version ${version}); the next deploy uses them\n`);
}

export async function deployCommand(io: CliIO, options: { stateDir: string; app: string; dir: string; wait: boolean; autoRollback: boolean; id: boolean }): Promise<void> {
  const client = await RackClient.connect(options.stateDir);
  const dir = resolve(io.cwd, options.dir);
  const { bundle, files } = await packDirectory(dir);
  const log = options.id ? io.stderr : io.stdout;
  log.write(`packed ${files} files from ${dir} (${(bundle.length / 1024).toFixed(0)} KiB)\n`);
  const uploaded = await client.request<{ key: string; version: string; execution: string }>('POST', `/v1/apps/${encodeURIComponent(options.app)}/bundles`, bundle, options.autoRollback ? {} : { 'x-slipway-auto-rollback': 'false' });
  log.write(`uploaded ${uploaded.key} version ${uploaded.version}; deploy ${uploaded.execution}\n`);
  if (!options.wait) return;
  const { record, events } = await follow(client, 'Deploy', uploaded.execution, log);
  const promoted = events.find((e) => e['detail-type'] === 'Deployment Succeeded')?.detail.release;
  if (record.status === 'SUCCEEDED' && promoted) {
    if (options.id) io.stdout.write(`${promoted}\n`);
    else io.stdout.write(`deployed release ${promoted}\n`);
    return;
  }
  if (record.status === 'SUCCEEDED') {
    log.write('this upload was superseded by a newer one, which deploys instead\n');
    throw new CommandFailed(1);
  }
  const reason = [...events].reverse().find((e) => e.detail.reason)?.detail.reason ?? record.cause ?? record.status;
  io.stderr.write(`${record.error === 'DeploymentRolledBack' ? 'deploy failed and was rolled back' : 'deploy failed'}: ${reason}\n`);
  throw new CommandFailed(record.error === 'DeploymentRolledBack' ? EXIT_ROLLED_BACK : 1);
}

export async function releasesCommand(io: CliIO, options: { stateDir: string; app: string }): Promise<void> {
  const client = await RackClient.connect(options.stateDir);
  const app = await client.request<AppView>('GET', `/v1/apps/${encodeURIComponent(options.app)}`);
  const releases = await client.request<Release[]>('GET', `/v1/apps/${encodeURIComponent(options.app)}/releases`);
  io.stdout.write(`${'ID'.padEnd(14)}${'STATUS'.padEnd(9)}${'BUILD'.padEnd(14)}${'CREATED'.padEnd(22)}DESCRIPTION\n`);
  for (const r of releases) io.stdout.write(`${r.id.padEnd(14)}${(r.id === app.release ? 'active' : '').padEnd(9)}${r.build.padEnd(14)}${r.createdAt.slice(0, 19).padEnd(22)}${r.description}\n`);
}

export async function rollbackCommand(io: CliIO, options: { stateDir: string; app: string; release?: string; skipGates: boolean; wait: boolean }): Promise<void> {
  const client = await RackClient.connect(options.stateDir);
  const { execution } = await client.request<{ execution: string }>('POST', `/v1/apps/${encodeURIComponent(options.app)}/rollback`, { ...(options.release ? { release: options.release } : {}), skipGates: options.skipGates });
  io.stdout.write(`rollback ${execution} started\n`);
  if (!options.wait) return;
  const { record, events } = await follow(client, 'Rollback', execution, io.stdout);
  if (record.status === 'SUCCEEDED') {
    const release = events.find((e) => e['detail-type'] === 'Rollback Succeeded')?.detail.release;
    io.stdout.write(`rolled back: release ${release ?? '?'} serves; the app is pinned until \`slipway apps unpin ${options.app}\`\n`);
    return;
  }
  io.stderr.write(`rollback failed: ${record.cause ?? record.status}\n`);
  throw new CommandFailed(1);
}

export async function timerRunCommand(io: CliIO, options: { stateDir: string; app: string; timer: string; wait: boolean }): Promise<void> {
  const client = await RackClient.connect(options.stateDir);
  const { execution } = await client.request<{ execution: string }>('POST', `/v1/apps/${encodeURIComponent(options.app)}/timers/${encodeURIComponent(options.timer)}/run`);
  io.stdout.write(`timer run ${execution} started\n`);
  if (!options.wait) return;
  const { record } = await follow(client, 'Timer', execution, io.stdout);
  if (record.status !== 'SUCCEEDED') throw new CommandFailed(1);
}

export async function scaleCommand(io: CliIO, options: { stateDir: string; app: string; service: string; count: number }): Promise<void> {
  await (await RackClient.connect(options.stateDir)).request('POST', `/v1/apps/${encodeURIComponent(options.app)}/services/${encodeURIComponent(options.service)}/scale`, { count: options.count });
  io.stdout.write(`scaled ${options.service} of ${options.app} to ${options.count} process${options.count === 1 ? '' : 'es'}\n`);
}

/** `logs`: the app's log lines (service, process, release, time), then new ones as they come unless `follow` is off. */
export async function logsCommand(io: CliIO, options: { stateDir: string; app: string; service?: string; sinceMs: number; follow: boolean }): Promise<void> {
  const client = await RackClient.connect(options.stateDir);
  let since = new Date(Date.now() - options.sinceMs).toISOString();
  for (;;) {
    const query = new URLSearchParams({ since, ...(options.service ? { service: options.service } : {}) });
    const lines = await client.request<LogLine[]>('GET', `/v1/apps/${encodeURIComponent(options.app)}/logs?${query.toString()}`);
    for (const line of lines) io.stdout.write(`${line.time} ${line.service}/${line.process} ${line.text}\n`);
    since = lines[lines.length - 1]?.time ?? since;
    if (!options.follow) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Print an execution's events as they arrive, until it ends. */
async function follow(client: RackClient, machine: string, execution: string, out: { write(s: string): unknown }): Promise<{ record: ExecutionRecord; events: SlipwayEvent[] }> {
  const seen: SlipwayEvent[] = [];
  for (;;) {
    const record = await client.request<ExecutionRecord>('GET', `/v1/executions/${machine}/${encodeURIComponent(execution)}`);
    const events = (await client.request<SlipwayEvent[]>('GET', '/v1/events')).filter((e) => e.detail.execution === execution);
    for (const e of events.slice(seen.length)) {
      out.write(`${formatEvent(e)}\n`);
      seen.push(e);
    }
    if (record.status !== 'RUNNING') return { record, events: seen };
    await new Promise((r) => setTimeout(r, 300));
  }
}

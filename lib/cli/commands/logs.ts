/**
 * `logs` (the app's processes, Convox's `<time> <service>/<process> <text>` lines) and `events`
 * (Slipway's own events: what the pipeline did, newest last).
 */
import type { CliIO } from '../io';
import { describeEvent } from '../follow';
import { printList } from '../output';
import type { AppFlags, RackFlags } from './target';
import { appTarget, outputOf } from './target';
import { openRack } from '../context';

export async function logsCommand(io: CliIO, flags: AppFlags & { service?: string; sinceMs: number; filter?: string; follow: boolean; signal?: AbortSignal }): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  const json = outputOf(flags) === 'json';
  const query = { since: Date.now() - flags.sinceMs, follow: flags.follow, ...(flags.service ? { service: flags.service } : {}), ...(flags.filter ? { filter: flags.filter } : {}), ...(flags.signal ? { signal: flags.signal } : {}) };
  for await (const line of rack.logs(app, query)) {
    // JSON lines, one per log line: a stream a script can read while it follows.
    io.stdout.write(json ? `${JSON.stringify(line)}\n` : `${line.time} ${line.service}/${line.process} ${line.text}\n`);
  }
}

export async function eventsCommand(io: CliIO, flags: RackFlags & { app?: string; execution?: string; sinceMs: number; limit: number }): Promise<void> {
  const rack = await openRack(io.cwd, flags);
  const events = (await rack.events({ since: Date.now() - flags.sinceMs, ...(flags.app ? { app: flags.app } : {}), ...(flags.execution ? { execution: flags.execution } : {}) })).slice(-flags.limit);
  printList(io, outputOf(flags), events, [
    ['TIME', (e) => e.time.slice(0, 19).replace('T', ' ')],
    ['APP', (e) => e.detail.app],
    ['EVENT', (e) => e['detail-type']],
    ['DETAIL', (e) => describeEvent(e).slice(e['detail-type'].length).replace(/^:? /, '')],
  ]);
}

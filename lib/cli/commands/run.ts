/**
 * `run SERVICE COMMAND`: a one-off job in a service's image, through the Timer machine, with its
 * output streamed as it runs; the exit code is 0 when the job succeeded and 1 when it failed.
 */
import type { CliIO } from '../io';
import { CommandFailed } from '../io';
import { followExecution } from '../follow';
import type { RackConnection, RunRequest } from '../racks/rack-connection';
import type { AppFlags } from './target';
import { appTarget } from './target';

/** Run a job and stream its output; true when it succeeded. The reason is printed when it did not. */
export async function followJob(io: CliIO, rack: RackConnection, app: string, request: RunRequest): Promise<boolean> {
  const since = Date.now() - 1000;
  const execution = await rack.run(app, request);
  let job: string | undefined;
  const stop = new AbortController();
  // The job's lines come from its own processes, named after the job; before the job's id is
  // known (its Run Started event), lines of the service on that release are held back.
  const held: string[] = [];
  const learnJob = (id: string): void => {
    if (job !== undefined) return;
    job = id;
    for (const entry of held.splice(0)) {
      const [process, text] = entry.split('\u0000') as [string, string];
      if (process.startsWith(id)) io.stdout.write(text);
    }
  };
  const streaming = (async () => {
    try {
      for await (const line of rack.logs(app, { service: request.service, since, follow: true, signal: stop.signal })) {
        if (request.release && line.release && line.release !== request.release) continue;
        const text = `${line.process} | ${line.text}\n`;
        if (job === undefined) held.push(`${line.process}\u0000${text}`);
        else if (line.process.startsWith(job)) io.stdout.write(text);
      }
    } catch (e) {
      if (!stop.signal.aborted) io.stderr.write(`(the job's output could not be read: ${(e as Error).message})\n`);
    }
  })();
  const result = await followExecution(rack, app, execution, {
    write: (chunk: string) => {
      io.stderr.write(chunk);
      return true;
    },
  }, { onEvent: (event) => {
    if (event['detail-type'] === 'Run Started') learnJob(event.detail.job ?? '');
  } });
  learnJob(result.events.find((e) => e['detail-type'] === 'Run Started')?.detail.job ?? '');
  // The last lines may land just after the job ended.
  await new Promise((r) => setTimeout(r, 800));
  stop.abort();
  await streaming;
  if (result.status.status === 'SUCCEEDED') return true;
  const failed = result.events.find((e) => e['detail-type'] === 'Run Failed');
  io.stderr.write(`error: ${failed?.detail.reason ?? [result.status.error, result.status.cause].filter(Boolean).join(': ')}\n`);
  return false;
}

/**
 * The command as one shell line. A single argument is a shell line already (`run web "npm test"`);
 * several are quoted where the shell would split or expand them (`run web node -e "..."`), so
 * the job runs what was typed.
 */
export function shellLine(args: readonly string[]): string {
  if (args.length === 1) return args[0] ?? '';
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export async function runCommand(io: CliIO, flags: AppFlags & { service: string; command: string[]; release?: string; detach: boolean }): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  const request: RunRequest = { service: flags.service, command: shellLine(flags.command), ...(flags.release ? { release: flags.release } : {}) };
  if (flags.detach) {
    const execution = await rack.run(app, request);
    io.stdout.write(`${execution.name}\n`);
    return;
  }
  if (!(await followJob(io, rack, app, request))) throw new CommandFailed(1);
}

/**
 * Following a pipeline run from the CLI, the same way on both racks: the execution's status and
 * its events are polled, each event is printed as it arrives, and while a phase runs the CLI
 * says what it waits on: the build's output line by line, each service's processes during the
 * rollout. When the run fails, the reason the pipeline found is printed with the failing
 * service's last log lines, so that nobody has to dig for them.
 */
import type { SlipwayEvent } from '../pipeline/events';
import type { ExecutionRef, ExecutionStatus, LogEntry, RackConnection, ServiceScale } from './racks/rack-connection';

export interface FollowOutput {
  write(chunk: string): unknown;
}

export interface FollowResult {
  readonly status: ExecutionStatus;
  readonly events: readonly SlipwayEvent[];
}

export interface FollowOptions {
  /** Milliseconds between polls. */
  readonly pollMs?: number;
  /** Print the build's output as it is written. */
  readonly buildOutput?: boolean;
  /** Called with each event as it arrives, after it is printed. */
  readonly onEvent?: (event: SlipwayEvent) => void;
  /** Stop following (the run goes on). */
  readonly signal?: AbortSignal;
}

const FAILURE_EVENTS = new Set(['Bundle Rejected', 'Build Failed', 'Resource Provisioning Failed', 'Rollout Failed', 'Health Gate Failed', 'Deployment Failed', 'Deployment Rolled Back', 'Rollback Failed', 'Promotion Failed', 'Timer Failed', 'Run Failed']);
const ROLLOUT_START = new Set(['Rollout Started']);
const ROLLOUT_END = new Set(['Health Gate Passed', 'Health Gate Failed', 'Rollout Failed', 'Deployment Succeeded', 'Deployment Rolled Back', 'Rollback Succeeded', 'Rollback Failed', 'Promotion Succeeded', 'Promotion Failed', 'Deployment Cancelled']);

export function clock(iso: string): string {
  return iso.slice(11, 19);
}

/** `Build Started web BXXXXXXXXXX: reason`: the event's type, what it is about, and why. */
export function describeEvent(event: SlipwayEvent): string {
  const d = event.detail;
  const what = [d.service, d.release, d.build, d.timer, d.command ? `\`${d.command}\`` : undefined].filter(Boolean).join(' ');
  return `${event['detail-type']}${what ? ` ${what}` : ''}${d.reason ? `: ${d.reason}` : ''}`;
}

export function formatEvent(event: SlipwayEvent): string {
  return `${clock(event.time)} ${describeEvent(event)}`;
}

/**
 * `web 1/2, worker 1/1`: each service's processes of the release rolling out that are ready, of
 * those it wants.
 */
async function rolloutLine(rack: RackConnection, app: string, release: string): Promise<string> {
  const [scale, processes] = await Promise.all([rack.scale(app), rack.processes(app)]);
  return scale.map((s: ServiceScale) => `${s.service} ${processes.filter((p) => p.service === s.service && p.release === release && p.status === 'running').length}/${s.desired}`).join(', ');
}

/**
 * How often the rollout's processes are read. The local rack answers from memory; an AWS rack's
 * answer is a run of its maintenance machine (the CLI holds no cluster credentials), so it is
 * asked every ten seconds, not at every poll.
 */
const ROLLOUT_READ_MS = { local: 0, aws: 10_000 } as const;

/** Follow an execution until it ends; prints to `out` and returns how it ended with its events. */
export async function followExecution(rack: RackConnection, app: string, ref: ExecutionRef, out: FollowOutput, options: FollowOptions = {}): Promise<FollowResult> {
  // An AWS rack's every poll is a DescribeExecution and a CloudWatch Logs query (5 a second at
  // most per account): it is asked every two seconds; the local rack answers from memory.
  const pollMs = options.pollMs ?? (rack.kind === 'aws' ? 2000 : 500);
  const seen = new Set<string>();
  const events: SlipwayEvent[] = [];
  const buildLogs = new Map<string, number>();
  let rolling: string | undefined;
  let rolloutReadAt = 0;
  let lastRollout = '';
  let lastWait = '';
  const printBuildOutput = async (): Promise<void> => {
    for (const [build, printed] of buildLogs) {
      const text = await rack.buildLogs(app, build).catch(() => '');
      const lines = text.split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      for (const line of lines.slice(printed)) out.write(`  build ${build} | ${line}\n`);
      buildLogs.set(build, Math.max(printed, lines.length));
    }
  };
  for (;;) {
    const status = await rack.execution(ref);
    // Only the run's own time is searched (its events cannot be older than its start), not the event log's whole retention.
    const since = status.startedAt ? Date.parse(status.startedAt) - 60_000 : undefined;
    const fresh = (await rack.events({ execution: ref.name, ...(since !== undefined && !Number.isNaN(since) ? { since } : {}) })).filter((e) => !seen.has(e.id));
    for (const event of fresh) {
      seen.add(event.id);
      events.push(event);
      const type = event['detail-type'];
      // The build's output comes before the event that says the build ended.
      if ((type === 'Build Succeeded' || type === 'Build Failed') && options.buildOutput) await printBuildOutput();
      if (type === 'Build Succeeded' || type === 'Build Failed') if (event.detail.build) buildLogs.delete(event.detail.build);
      out.write(`${formatEvent(event)}\n`);
      if (type === 'Build Started' && event.detail.build && options.buildOutput) buildLogs.set(event.detail.build, 0);
      options.onEvent?.(event);
      if (ROLLOUT_START.has(type)) rolling = event.detail.release;
      if (ROLLOUT_END.has(type)) rolling = undefined;
    }
    if (options.buildOutput && buildLogs.size > 0) await printBuildOutput();
    if (status.status === 'RUNNING' && rolling && Date.now() - rolloutReadAt >= ROLLOUT_READ_MS[rack.kind]) {
      rolloutReadAt = Date.now();
      const line = await rolloutLine(rack, app, rolling).catch(() => '');
      if (line && line !== lastRollout) {
        out.write(`  waiting on the rollout of ${rolling}: ${line} ready\n`);
        lastRollout = line;
      }
    }
    const queued = [...events].reverse().find((e) => e['detail-type'] === 'Deployment Queued');
    if (status.status === 'RUNNING' && queued?.detail.reason && queued.detail.reason !== lastWait && events[events.length - 1] === queued) {
      out.write(`  waiting: ${queued.detail.reason}\n`);
      lastWait = queued.detail.reason;
    }
    if (status.status !== 'RUNNING') return { status, events };
    if (options.signal?.aborted) return { status, events };
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** The reason a run failed, from its events (the most specific one first), else the execution's error. */
export function failureReason(result: FollowResult): { reason: string; service?: string; release?: string } {
  const failures = result.events.filter((e) => FAILURE_EVENTS.has(e['detail-type']) && e.detail.reason);
  const specific = failures.find((e) => e['detail-type'] !== 'Deployment Rolled Back' && e['detail-type'] !== 'Deployment Failed') ?? failures[0];
  if (specific) {
    return {
      reason: `${specific['detail-type']}${specific.detail.service ? ` (${specific.detail.service})` : ''}: ${specific.detail.reason ?? ''}`,
      ...(specific.detail.service ? { service: specific.detail.service } : {}),
      ...(specific.detail.release ? { release: specific.detail.release } : {}),
    };
  }
  return { reason: [result.status.error, result.status.cause].filter(Boolean).join(': ') || result.status.status };
}

/** The last log lines a service wrote since a time (of one release when given), for a failure report. */
export async function lastLogLines(rack: RackConnection, app: string, query: { service: string; since: number; release?: string; count?: number }): Promise<LogEntry[]> {
  const lines: LogEntry[] = [];
  try {
    for await (const line of rack.logs(app, { service: query.service, since: query.since, follow: false })) {
      if (query.release && line.release && line.release !== query.release) continue;
      lines.push(line);
    }
  } catch {
    // The report goes on without them: the reason itself was printed.
  }
  return lines.slice(-(query.count ?? 10));
}

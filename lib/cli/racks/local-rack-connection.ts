/**
 * The CLI's connection to the local rack: every RackConnection call is a request to the rack's
 * loopback API (lib/local/rack/api-server.ts), with the rack's token. Changes that roll
 * something out start a state machine on the rack and return its execution, as on AWS.
 */
import type { App, Build, Release } from '../../pipeline/domain/model';
import type { SlipwayEvent } from '../../pipeline/events';
import type { ExecutionRecord } from '../../local/executions';
import { RackApiError, RackClient } from '../../local/rack/client';
import { NoDeployRunningError } from '../../local/rack/errors';
import type {
  EnvChange,
  ExecutionRef,
  ExecutionStatus,
  LogEntry,
  LogQuery,
  ProcessInfo,
  RackConnection,
  RackInfo,
  RackMachine,
  RunRequest,
  ScaleChange,
  ServiceEndpoint,
  ServiceScale,
  TimerInfo,
  UploadOptions,
} from './rack-connection';

/** Bundles go up in pieces of this size, each reported to `onProgress`. */
export const UPLOAD_CHUNK_BYTES = 64 * 1024;
/** How often `logs --follow` asks for new lines. */
export const LOG_POLL_MS = 400;

interface RackStatus {
  readonly name: string;
  readonly pid: number;
  readonly routerPort: number;
  readonly apps: number;
  readonly stateDir: string;
  readonly api?: string;
  readonly startedAt?: string;
  readonly deploy?: Readonly<Record<string, number>>;
}

interface LogLineAnswer {
  readonly time: string;
  readonly service: string;
  readonly release: string;
  readonly process: string;
  readonly text: string;
}

const path = (...parts: string[]): string => parts.map(encodeURIComponent).join('/');

function params(values: Readonly<Record<string, string | number | undefined>>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value !== undefined && value !== '') query.set(key, String(value));
  const text = query.toString();
  return text ? `?${text}` : '';
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export class LocalRackConnection implements RackConnection {
  readonly kind = 'local' as const;

  constructor(private readonly client: RackClient) {}

  /** Connect to the rack running on this state folder; RackNotRunningError when none does. */
  static async connect(stateDir: string): Promise<LocalRackConnection> {
    return new LocalRackConnection(await RackClient.connect(stateDir));
  }

  get name(): string {
    return this.client.endpoint.name;
  }

  async info(): Promise<RackInfo> {
    const status = await this.client.request<RackStatus>('GET', '/v1/rack');
    const deploy = status.deploy ?? {};
    const parameters: Record<string, string> = {
      Api: status.api ?? this.client.endpoint.api,
      Pid: String(status.pid),
      RouterPort: String(status.routerPort),
      StartedAt: status.startedAt ?? this.client.endpoint.startedAt,
      StateDir: status.stateDir,
      Apps: String(status.apps),
    };
    for (const [key, value] of Object.entries(deploy)) parameters[key.charAt(0).toUpperCase() + key.slice(1)] = String(value);
    return { name: status.name, kind: 'local', status: 'running', location: status.stateDir, parameters };
  }

  async apps(): Promise<App[]> {
    return this.client.request<App[]>('GET', '/v1/apps');
  }

  async app(name: string): Promise<App> {
    return this.client.request<App>('GET', `/v1/apps/${path(name)}`);
  }

  async createApp(name: string): Promise<App> {
    return this.client.request<App>('POST', '/v1/apps', { name });
  }

  /** The local rack deletes an app in the API call itself: there is no execution to follow. */
  async deleteApp(name: string): Promise<undefined> {
    await this.client.request('DELETE', `/v1/apps/${path(name)}`);
    return undefined;
  }

  async cancel(app: string): Promise<ExecutionRef> {
    try {
      const { execution } = await this.client.request<{ execution: string }>('POST', `/v1/apps/${path(app)}/cancel`);
      return { machine: 'Rollback', name: execution };
    } catch (e) {
      if (e instanceof RackApiError && e.code === 'NO_DEPLOY_RUNNING') throw new NoDeployRunningError(app);
      throw e;
    }
  }

  async unpin(app: string): Promise<App> {
    return this.client.request<App>('POST', `/v1/apps/${path(app)}/unpin`);
  }

  async upload(app: string, bundle: Buffer, options: UploadOptions): Promise<ExecutionRef & { readonly key: string; readonly version: string }> {
    const headers: Record<string, string> = {
      ...(options.autoRollback ? {} : { 'x-slipway-auto-rollback': 'false' }),
      ...(options.promote ? {} : { 'x-slipway-promote': 'false' }),
      // Header values are ASCII, as S3 object metadata is.
      ...(options.description ? { 'x-slipway-description': encodeURIComponent(options.description) } : {}),
    };
    const total = bundle.length;
    let offset = 0;
    // Pulled a piece at a time by the request as the socket takes it, so progress follows the sending.
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (offset >= total) {
            controller.close();
            return;
          }
          const chunk = bundle.subarray(offset, offset + UPLOAD_CHUNK_BYTES);
          offset += chunk.length;
          controller.enqueue(new Uint8Array(chunk));
          options.onProgress?.(offset, total);
        },
      },
      { highWaterMark: 0 },
    );
    const uploaded = await this.client.send<{ key: string; version: string; execution: string }>('POST', `/v1/apps/${path(app)}/bundles`, { body, headers });
    return { machine: 'Deploy', name: uploaded.execution, key: uploaded.key, version: uploaded.version };
  }

  builds(app: string): Promise<Omit<Build, 'manifest'>[]> {
    return this.client.request('GET', `/v1/apps/${path(app)}/builds`);
  }

  async buildLogs(app: string, build: string): Promise<string> {
    return (await this.client.request<{ text: string }>('GET', `/v1/apps/${path(app)}/builds/${path(build)}/logs`)).text;
  }

  releases(app: string): Promise<Release[]> {
    return this.client.request('GET', `/v1/apps/${path(app)}/releases`);
  }

  release(app: string, id: string): Promise<Release & { readonly manifest?: string }> {
    return this.client.request('GET', `/v1/apps/${path(app)}/releases/${path(id)}`);
  }

  async promote(app: string, release?: string): Promise<ExecutionRef> {
    const { execution } = await this.client.request<{ execution: string }>('POST', `/v1/apps/${path(app)}/promote`, release === undefined ? {} : { release });
    return { machine: 'Rollback', name: execution };
  }

  async rollback(app: string, request: { readonly release?: string; readonly skipGates?: boolean; readonly reason?: string }): Promise<ExecutionRef> {
    const { execution } = await this.client.request<{ execution: string }>('POST', `/v1/apps/${path(app)}/rollback`, request);
    return { machine: 'Rollback', name: execution };
  }

  env(app: string, release?: string): Promise<{ readonly version: number; readonly values: Readonly<Record<string, string>> }> {
    return this.client.request('GET', `/v1/apps/${path(app)}/env${params({ release })}`);
  }

  async changeEnv(app: string, change: EnvChange): Promise<{ readonly envVersion: number; readonly release?: string }> {
    const answer = await this.client.request<{ envVersion: number; release?: string }>('PATCH', `/v1/apps/${path(app)}/env`, change);
    return { envVersion: answer.envVersion, ...(answer.release ? { release: answer.release } : {}) };
  }

  scale(app: string): Promise<ServiceScale[]> {
    return this.client.request('GET', `/v1/apps/${path(app)}/scale`);
  }

  async setScale(app: string, service: string, change: ScaleChange): Promise<ExecutionRef> {
    const { execution } = await this.client.request<{ execution: string }>('POST', `/v1/apps/${path(app)}/scale`, { service, ...change });
    return { machine: 'Rollback', name: execution };
  }

  async processes(app: string): Promise<ProcessInfo[]> {
    const answer = await this.client.request<(ProcessInfo & { pid?: number; port?: number; restarts?: number })[]>('GET', `/v1/apps/${path(app)}/processes`);
    return answer.map((p) => ({ id: p.id, service: p.service, status: p.status, release: p.release, ...(p.started ? { started: p.started } : {}), ...(p.command ? { command: p.command } : {}) }));
  }

  services(app: string): Promise<ServiceEndpoint[]> {
    return this.client.request('GET', `/v1/apps/${path(app)}/services`);
  }

  timers(app: string): Promise<TimerInfo[]> {
    return this.client.request('GET', `/v1/apps/${path(app)}/timers`);
  }

  async runTimer(app: string, timer: string): Promise<ExecutionRef> {
    const { execution } = await this.client.request<{ execution: string }>('POST', `/v1/apps/${path(app)}/timers/${path(timer)}/run`);
    return { machine: 'Timer', name: execution };
  }

  async run(app: string, request: RunRequest): Promise<ExecutionRef> {
    const { execution } = await this.client.request<{ execution: string }>('POST', `/v1/apps/${path(app)}/run`, request);
    return { machine: 'Timer', name: execution };
  }

  /**
   * The app's log lines from `since`, then (following) new ones as they are written, until the
   * signal aborts. The rack pages its log by byte offset, so no line is missed or repeated
   * however many share a timestamp.
   */
  async *logs(app: string, query: LogQuery): AsyncIterable<LogEntry> {
    const filter = { since: new Date(query.since).toISOString(), service: query.service, filter: query.filter };
    const { signal } = query;
    const page = (cursor: number, tail: boolean): Promise<{ lines: LogLineAnswer[]; cursor: number; more?: boolean }> =>
      this.client.send('GET', `/v1/apps/${path(app)}/logs${params({ ...filter, cursor, ...(tail ? { tail: 1 } : {}) })}`, signal ? { signal } : {});
    let cursor = 0;
    let tail = true;
    for (;;) {
      let answer: { lines: LogLineAnswer[]; cursor: number; more?: boolean };
      try {
        answer = await page(cursor, tail);
      } catch (e) {
        if (signal?.aborted) return;
        throw e;
      }
      for (const line of answer.lines) yield { time: line.time, service: line.service, process: line.process, ...(line.release && line.release !== '-' ? { release: line.release } : {}), text: line.text };
      // More written than one page holds: ask again at once.
      const more = answer.more === true && answer.cursor !== cursor;
      cursor = answer.cursor;
      tail = false;
      if (!query.follow || signal?.aborted) return;
      if (!more) await pause(LOG_POLL_MS, signal);
      if (signal?.aborted) return;
    }
  }

  events(filter: { readonly app?: string; readonly execution?: string; readonly since?: number } = {}): Promise<SlipwayEvent[]> {
    return this.client.request('GET', `/v1/events${params({ app: filter.app, execution: filter.execution, since: filter.since })}`);
  }

  async execution(ref: ExecutionRef): Promise<ExecutionStatus> {
    const record = await this.client.request<ExecutionRecord>('GET', `/v1/executions/${path(ref.machine)}/${path(ref.name)}`);
    return {
      machine: record.machine as RackMachine,
      name: record.name,
      status: record.status,
      startedAt: record.startedAt,
      ...(record.stoppedAt ? { stoppedAt: record.stoppedAt } : {}),
      ...(record.error ? { error: record.error } : {}),
      ...(record.cause ? { cause: record.cause } : {}),
    };
  }
}

/**
 * The local rack's HTTP API, on loopback only, for the CLI. Every request carries the rack's
 * token (`Authorization: Bearer ...`), kept in a file only its owner can read, so another user
 * of the machine cannot drive the rack. Env values leave only through `GET .../env`, to a holder
 * of the token.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { chmod, open, readFile, rm, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../../errors';
import { APP_NAME } from '../../pipeline/domain/model';
import type { MachineName } from '../../pipeline/machines/pipeline-machines';
import { MACHINE_NAMES } from '../../pipeline/machines/pipeline-machines';
import type { LocalRack } from './local-rack';

/** What `rack.json` in the state folder says of a running rack. */
export interface RackEndpoint {
  readonly pid: number;
  readonly name: string;
  readonly api: string;
  readonly routerPort: number;
  readonly startedAt: string;
}

export const ENDPOINT_FILE = 'rack.json';
export const TOKEN_FILE = 'rack.token';
/** Bundles larger than this are refused before they are stored. */
const MAX_BUNDLE_BYTES = 512 * 1024 * 1024;
/** A log page reads at most this much of the file; the follower's next poll reads on. */
const MAX_LOG_PAGE_BYTES = 8 * 1024 * 1024;

/** HTTP statuses of error codes other than a plain 400. */
const STATUS_OF_CODE: Readonly<Record<string, number>> = { NOT_FOUND: 404, CONFLICT: 409, NO_DEPLOY_RUNNING: 409, APP_BUSY: 409 };

/** The code an API error carries when no SlipwayError names one: after its HTTP status. */
const CODE_OF_STATUS: Readonly<Record<number, string>> = { 400: 'BAD_REQUEST', 401: 'UNAUTHORIZED', 404: 'NOT_FOUND', 405: 'METHOD_NOT_ALLOWED', 413: 'TOO_LARGE' };

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  get code(): string {
    return CODE_OF_STATUS[this.status] ?? 'RACK_API';
  }
}

type Handler = (match: RegExpMatchArray, req: IncomingMessage, res: ServerResponse) => Promise<unknown>;

export class RackApiServer {
  private server?: Server;
  private endpoint?: RackEndpoint;
  private token = '';
  private readonly routes: [string, RegExp, Handler][];

  constructor(
    private readonly rack: LocalRack,
    private readonly onStop: () => void,
  ) {
    // An app's name also names files (its log): one that is not an app name (`..%2F..`) is no app at all.
    const app = (m: RegExpMatchArray): string => {
      const name = decodeURIComponent(m[1] ?? '');
      if (!APP_NAME.test(name)) throw new HttpError(404, `app not found: ${name}`);
      return name;
    };
    const part = (m: RegExpMatchArray, n: number): string => decodeURIComponent(m[n] ?? '');
    const query = (req: IncomingMessage): URLSearchParams => new URL(req.url ?? '/', 'http://rack').searchParams;
    this.routes = [
      ['GET', /^\/v1\/rack$/, () => this.status()],
      ['POST', /^\/v1\/rack\/stop$/, () => {
        // After this answer is sent: stopping closes the API server too.
        setImmediate(this.onStop);
        return Promise.resolve({ stopping: true });
      }],
      ['GET', /^\/v1\/apps$/, () => rack.store.listApps()],
      ['POST', /^\/v1\/apps$/, async (_m, req) => {
        const body = (await readJson(req)) as { name?: string };
        await rack.createApp(String(body.name ?? ''));
        return rack.store.requireApp(String(body.name));
      }],
      ['GET', /^\/v1\/apps\/([^/]+)$/, (m) => rack.store.requireApp(app(m))],
      ['DELETE', /^\/v1\/apps\/([^/]+)$/, async (m) => {
        return rack.deleteApp(app(m));
      }],
      ['POST', /^\/v1\/apps\/([^/]+)\/cancel$/, async (m) => {
        const { execution, cancelled } = await rack.cancel(app(m));
        return { machine: 'Rollback', execution, cancelled };
      }],
      ['GET', /^\/v1\/apps\/([^/]+)\/releases$/, (m) => rack.store.listReleases(app(m))],
      ['GET', /^\/v1\/apps\/([^/]+)\/releases\/([^/]+)$/, (m) => rack.release(app(m), part(m, 2))],
      ['POST', /^\/v1\/apps\/([^/]+)\/promote$/, async (m, req) => {
        const body = (await readJson(req)) as { release?: unknown };
        return { machine: 'Rollback', execution: (await rack.promote(app(m), optionalString(body.release, 'release'))).execution };
      }],
      ['GET', /^\/v1\/apps\/([^/]+)\/builds$/, async (m) => (await rack.store.listBuilds(app(m))).map(({ manifest: _m, ...b }) => b)],
      ['GET', /^\/v1\/apps\/([^/]+)\/builds\/([^/]+)\/logs$/, async (m) => ({ text: await rack.buildLog(app(m), part(m, 2)) })],
      ['GET', /^\/v1\/apps\/([^/]+)\/env$/, async (m, req) => rack.environment(app(m), query(req).get('release') ?? undefined)],
      ['PATCH', /^\/v1\/apps\/([^/]+)\/env$/, async (m, req) => {
        const body = (await readJson(req)) as { set?: unknown; unset?: unknown; replace?: unknown };
        const set = stringRecord(body.set, 'set');
        const unset = body.unset === undefined ? undefined : stringList(body.unset, 'unset');
        return rack.changeEnvironment(app(m), { ...(set ? { set } : {}), ...(unset ? { unset } : {}), ...(body.replace === true ? { replace: true } : {}) });
      }],
      ['POST', /^\/v1\/apps\/([^/]+)\/bundles$/, async (m, req) => {
        const metadata: Record<string, string> = {};
        if (req.headers['x-slipway-auto-rollback'] === 'false') metadata['auto-rollback'] = 'false';
        if (req.headers['x-slipway-promote'] === 'false') metadata.promote = 'false';
        // Object metadata is ASCII, as on S3: the CLI sends the description URI-encoded and it is kept so.
        const description = req.headers['x-slipway-description'];
        if (typeof description === 'string' && description) metadata.description = description;
        return rack.deploy(app(m), await readBody(req, MAX_BUNDLE_BYTES), metadata);
      }],
      ['POST', /^\/v1\/apps\/([^/]+)\/rollback$/, async (m, req) => {
        const body = (await readJson(req)) as { release?: string; skipGates?: boolean; reason?: string };
        return { machine: 'Rollback', execution: rack.rollback({ app: app(m), ...(body.release ? { release: body.release } : {}), ...(body.skipGates ? { skipGates: true } : {}), ...(body.reason ? { reason: body.reason } : {}) }).execution };
      }],
      ['POST', /^\/v1\/apps\/([^/]+)\/unpin$/, async (m) => {
        await rack.unpin(app(m));
        return rack.store.requireApp(app(m));
      }],
      ['GET', /^\/v1\/apps\/([^/]+)\/timers$/, (m) => rack.timers(app(m))],
      ['POST', /^\/v1\/apps\/([^/]+)\/timers\/([^/]+)\/run$/, async (m) => {
        await rack.store.requireApp(app(m));
        return { machine: 'Timer', execution: rack.runTimer(app(m), part(m, 2)).execution };
      }],
      ['POST', /^\/v1\/apps\/([^/]+)\/run$/, async (m, req) => {
        const body = (await readJson(req)) as { service?: unknown; command?: unknown; release?: unknown };
        const release = optionalString(body.release, 'release');
        const run = { service: requiredString(body.service, 'service'), command: requiredString(body.command, 'command'), ...(release !== undefined ? { release } : {}) };
        return { machine: 'Timer', execution: (await rack.run(app(m), run)).execution };
      }],
      ['GET', /^\/v1\/apps\/([^/]+)\/scale$/, (m) => rack.scale(app(m))],
      ['POST', /^\/v1\/apps\/([^/]+)\/scale$/, async (m, req) => {
        const body = (await readJson(req)) as { service?: unknown; count?: unknown; cpu?: unknown; memory?: unknown };
        const change = { ...optionalNumber(body.count, 'count'), ...optionalNumber(body.cpu, 'cpu'), ...optionalNumber(body.memory, 'memory') };
        return { machine: 'Rollback', execution: (await rack.setScale(app(m), requiredString(body.service, 'service'), change)).execution };
      }],
      ['GET', /^\/v1\/apps\/([^/]+)\/processes$/, (m) => rack.processes(app(m))],
      ['GET', /^\/v1\/apps\/([^/]+)\/services$/, async (m) => {
        await rack.store.requireApp(app(m));
        return rack.urls(app(m));
      }],
      ['GET', /^\/v1\/apps\/([^/]+)\/logs$/, async (m, req) => {
        const q = query(req);
        const filter = { since: q.get('since') ?? '', service: q.get('service') ?? '', text: q.get('filter') ?? '', limit: Number(q.get('limit') ?? 1000) };
        const file = join(rack.options.stateDir, 'logs', 'apps', `${app(m)}.jsonl`);
        const cursor = q.get('cursor');
        // With a cursor (a byte offset in the app's log), a page and the next cursor: followers see each line once.
        if (cursor !== null) return readLogPage(file, { ...filter, cursor: Number(cursor) || 0, tail: q.get('tail') === '1' });
        return readLogs(file, filter);
      }],
      ['POST', /^\/v1\/cleanup$/, () => Promise.resolve({ execution: rack.cleanup().execution })],
      ['GET', /^\/v1\/executions\/([^/]+)\/([^/]+)$/, (m) => {
        const machine = m[1] as MachineName;
        if (!MACHINE_NAMES.includes(machine)) throw new HttpError(404, `no state machine ${machine}`);
        const record = rack.describeExecution(machine, decodeURIComponent(m[2] ?? ''));
        if (!record) throw new HttpError(404, `no execution ${m[2] ?? ''} of ${machine}`);
        return Promise.resolve(record);
      }],
      ['GET', /^\/v1\/executions$/, () => Promise.resolve(rack.executions.list().slice(0, 100))],
      ['GET', /^\/v1\/events$/, async (_m, req) => {
        const q = query(req);
        const since = q.get('since');
        const filter = { app: q.get('app') ?? '', execution: q.get('execution') ?? '', since: since ? new Date(Number(since)).toISOString() : '', limit: Number(q.get('limit') ?? 500) };
        return readEvents(join(rack.options.stateDir, 'events.jsonl'), filter);
      }],
    ];
  }

  /** Every route the API serves (method and path pattern), so a check can cover each one, new ones included. */
  get routeTable(): readonly { readonly method: string; readonly pattern: RegExp }[] {
    return this.routes.map(([method, pattern]) => ({ method, pattern }));
  }

  /** Listen on a loopback port and publish the endpoint and a fresh token in the state folder. */
  async start(): Promise<RackEndpoint> {
    const dir = this.rack.options.stateDir;
    this.token = randomBytes(32).toString('base64url');
    const tokenFile = join(dir, TOKEN_FILE);
    await rm(tokenFile, { force: true });
    await writeFile(tokenFile, `${this.token}\n`, { mode: 0o600 });
    await chmod(tokenFile, 0o600);
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen({ host: '127.0.0.1', port: 0 }, resolve));
    this.server = server;
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const endpoint: RackEndpoint = { pid: process.pid, name: this.rack.options.name ?? 'local', api: `http://127.0.0.1:${port}`, routerPort: this.rack.router.port, startedAt: new Date().toISOString() };
    await writeFile(join(dir, ENDPOINT_FILE), `${JSON.stringify(endpoint, null, 2)}\n`, { mode: 0o600 });
    this.endpoint = endpoint;
    return endpoint;
  }

  async stop(): Promise<void> {
    const dir = this.rack.options.stateDir;
    await rm(join(dir, ENDPOINT_FILE), { force: true });
    await rm(join(dir, TOKEN_FILE), { force: true });
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async status(): Promise<unknown> {
    const apps = await this.rack.store.listApps();
    return {
      name: this.rack.options.name ?? 'local',
      pid: process.pid,
      routerPort: this.rack.router.port,
      apps: apps.length,
      stateDir: this.rack.options.stateDir,
      ...(this.endpoint ? { api: this.endpoint.api, startedAt: this.endpoint.startedAt } : {}),
      // The pipeline's settings, as `rack params` shows them.
      deploy: this.rack.config,
    };
  }

  /**
   * The header, byte for byte, in constant time: both sides are hashed first, so neither the
   * comparison nor a length check tells a caller how much of a guess was right.
   */
  private authorized(req: IncomingMessage): boolean {
    if (!this.token) return false;
    const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
    return timingSafeEqual(digest(req.headers.authorization ?? ''), digest(`Bearer ${this.token}`));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (!this.authorized(req)) throw new HttpError(401, 'missing or wrong rack token');
      const path = new URL(req.url ?? '/', 'http://rack').pathname;
      const methodRoutes = this.routes.filter(([, pattern]) => pattern.test(path));
      if (methodRoutes.length === 0) throw new HttpError(404, `no such endpoint ${path}`);
      const route = methodRoutes.find(([method]) => method === req.method);
      if (!route) throw new HttpError(405, `${req.method ?? ''} is not allowed on ${path}`);
      const result = await route[2](path.match(route[1]) as RegExpMatchArray, req, res);
      send(res, 200, result ?? {});
    } catch (e) {
      const status = e instanceof HttpError ? e.status : e instanceof SlipwayError ? (STATUS_OF_CODE[e.code] ?? 400) : 500;
      const code = e instanceof SlipwayError || e instanceof HttpError ? e.code : 'INTERNAL';
      send(res, status, { error: (e as Error).message, code });
    }
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `the body is larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = (await readBody(req, 1024 * 1024)).toString('utf8');
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
}

function requiredString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new HttpError(400, `${name} must be a non-empty string`);
  return value;
}

function optionalString(value: unknown, name: string): string | undefined {
  return value === undefined || value === null ? undefined : requiredString(value, name);
}

function optionalNumber<K extends string>(value: unknown, name: K): Partial<Record<K, number>> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new HttpError(400, `${name} must be a number`);
  return { [name]: value } as Partial<Record<K, number>>;
}

function stringRecord(value: unknown, name: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) throw new HttpError(400, `${name} must be an object of strings`);
  return value as Record<string, string>;
}

function stringList(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new HttpError(400, `${name} must be a list of strings`);
  return value as string[];
}

interface LogFilter {
  /** ISO time; lines after it (before a cursor is given: the CLI's old `logs` follows with the last line's time). */
  readonly since: string;
  readonly service: string;
  /** Lines whose text contains this. */
  readonly text: string;
  readonly limit: number;
}

function logMatches(line: { time: string; service: string; text?: string }, filter: LogFilter, sinceInclusive: boolean): boolean {
  if (filter.since && (sinceInclusive ? line.time < filter.since : line.time <= filter.since)) return false;
  if (filter.service && line.service !== filter.service) return false;
  if (filter.text && !(line.text ?? '').includes(filter.text)) return false;
  return true;
}

const clampLimit = (limit: number, fallback: number): number => Math.max(1, Math.min(limit || fallback, 10_000));

/** Log lines of an app since a time (ISO), optionally of one service and containing a text, at most `limit` (the newest). */
async function readLogs(file: string, filter: LogFilter): Promise<unknown[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const lines: { time: string; service: string }[] = [];
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    try {
      const line = JSON.parse(raw) as { time: string; service: string; text?: string };
      if (logMatches(line, filter, false)) lines.push(line);
    } catch {
      // A line cut short by a crash.
    }
  }
  return lines.slice(-clampLimit(filter.limit, 1000));
}

/**
 * A page of an app's log from a byte offset: only whole lines (the runtime may be writing the
 * last one), `since` inclusive. `tail`: the newest `limit` matching lines and a cursor at the end
 * (the start of `logs`); else the oldest `limit` from the cursor and a cursor after the last one
 * read, and whether more is waiting. So a follower loses no line and sees none twice, however
 * many share a timestamp. A log shorter than the cursor was started over (the app was deleted
 * and created again): from 0.
 */
async function readLogPage(file: string, filter: LogFilter & { cursor: number; tail: boolean }): Promise<{ lines: unknown[]; cursor: number; more: boolean }> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch {
    return { lines: [], cursor: 0, more: false };
  }
  try {
    const size = (await handle.stat()).size;
    let start = filter.cursor > size ? 0 : Math.max(0, filter.cursor);
    // The tail of a long log: its last pages only, from the first whole line in them.
    const skipPartial = filter.tail && size - start > MAX_LOG_PAGE_BYTES;
    if (skipPartial) start = size - MAX_LOG_PAGE_BYTES;
    const length = Math.min(size - start, MAX_LOG_PAGE_BYTES);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, start);
    const limit = clampLimit(filter.limit, 1000);
    const lines: unknown[] = [];
    let offset = skipPartial ? buffer.indexOf(10) + 1 : 0;
    let cursor = start + offset;
    // A line longer than a whole page cannot be read: skip it rather than stall the follower.
    if (bytesRead === MAX_LOG_PAGE_BYTES && buffer.indexOf(10, offset) < 0) return { lines: [], cursor: start + bytesRead, more: true };
    for (;;) {
      const end = buffer.indexOf(10, offset);
      if (end < 0 || end >= bytesRead) break;
      const raw = buffer.subarray(offset, end).toString('utf8');
      offset = end + 1;
      if (raw) {
        try {
          const line = JSON.parse(raw) as { time: string; service: string; text?: string };
          if (logMatches(line, filter, true)) lines.push(line);
        } catch {
          // A line cut short by a crash.
        }
      }
      cursor = start + offset;
      if (!filter.tail && lines.length >= limit) break;
    }
    // Whole lines past the cursor are waiting (a full page of matches, or the read's size limit).
    return { lines: filter.tail ? lines.slice(-limit) : lines, cursor, more: cursor < size && !filter.tail };
  } finally {
    await handle.close();
  }
}

/** Events, oldest first: of one app, one execution, from a time; filtered before the newest `limit` are kept. */
async function readEvents(file: string, filter: { app: string; execution: string; since: string; limit: number }): Promise<unknown[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const out: unknown[] = [];
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    try {
      const event = JSON.parse(raw) as { time: string; detail: { app?: string; execution?: string } };
      if (filter.app && event.detail.app !== filter.app) continue;
      if (filter.execution && event.detail.execution !== filter.execution) continue;
      if (filter.since && event.time < filter.since) continue;
      out.push(event);
    } catch {
      // A line cut short by a crash.
    }
  }
  return out.slice(-clampLimit(filter.limit, 500));
}

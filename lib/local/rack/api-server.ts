/**
 * The local rack's HTTP API, on loopback only, for the CLI. Every request carries the rack's
 * token (`Authorization: Bearer ...`), kept in a file only its owner can read, so another user
 * of the machine cannot drive the rack. Env values leave only through `GET .../env`, to a holder
 * of the token.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../../errors';
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

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Handler = (match: RegExpMatchArray, req: IncomingMessage, res: ServerResponse) => Promise<unknown>;

export class RackApiServer {
  private server?: Server;
  private token = '';
  private readonly routes: [string, RegExp, Handler][];

  constructor(
    private readonly rack: LocalRack,
    private readonly onStop: () => void,
  ) {
    const app = (m: RegExpMatchArray): string => decodeURIComponent(m[1] ?? '');
    this.routes = [
      ['GET', /^\/v1\/rack$/, () => this.status()],
      ['POST', /^\/v1\/rack\/stop$/, () => {
        // After this answer is sent: stopping closes the API server too.
        setImmediate(this.onStop);
        return Promise.resolve({ stopping: true });
      }],
      ['GET', /^\/v1\/apps$/, async () => (await rack.store.listApps()).map((a) => ({ ...a, urls: rack.urls(a.name) }))],
      ['POST', /^\/v1\/apps$/, async (_m, req) => {
        const body = (await readJson(req)) as { name?: string };
        await rack.createApp(String(body.name ?? ''));
        return rack.store.requireApp(String(body.name));
      }],
      ['GET', /^\/v1\/apps\/([^/]+)$/, async (m) => ({ ...(await rack.store.requireApp(app(m))), urls: rack.urls(app(m)), processes: rack.runtime.processes(app(m)), timers: rack.scheduler.list(app(m)) })],
      ['GET', /^\/v1\/apps\/([^/]+)\/releases$/, (m) => rack.store.listReleases(app(m))],
      ['GET', /^\/v1\/apps\/([^/]+)\/builds$/, async (m) => (await rack.store.listBuilds(app(m))).map(({ manifest: _m, ...b }) => b)],
      ['GET', /^\/v1\/apps\/([^/]+)\/env$/, async (m) => rack.env.current(app(m))],
      ['PATCH', /^\/v1\/apps\/([^/]+)\/env$/, async (m, req) => {
        const body = (await readJson(req)) as { set?: Record<string, string>; unset?: string[] };
        return { version: await rack.changeEnv(app(m), { ...(body.set ? { set: body.set } : {}), ...(body.unset ? { unset: body.unset } : {}) }) };
      }],
      ['POST', /^\/v1\/apps\/([^/]+)\/bundles$/, async (m, req) => {
        const metadata: Record<string, string> = {};
        if (req.headers['x-slipway-auto-rollback'] === 'false') metadata['auto-rollback'] = 'false';
        return rack.deploy(app(m), await readBody(req, MAX_BUNDLE_BYTES), metadata);
      }],
      ['POST', /^\/v1\/apps\/([^/]+)\/rollback$/, async (m, req) => {
        const body = (await readJson(req)) as { release?: string; skipGates?: boolean; reason?: string };
        return { execution: rack.rollback({ app: app(m), ...(body.release ? { release: body.release } : {}), ...(body.skipGates ? { skipGates: true } : {}), ...(body.reason ? { reason: body.reason } : {}) }).execution };
      }],
      ['POST', /^\/v1\/apps\/([^/]+)\/unpin$/, async (m) => {
        await rack.unpin(app(m));
        return rack.store.requireApp(app(m));
      }],
      ['POST', /^\/v1\/apps\/([^/]+)\/timers\/([^/]+)\/run$/, (m) => Promise.resolve({ execution: rack.runTimer(app(m), decodeURIComponent(m[2] ?? '')).execution })],
      ['POST', /^\/v1\/apps\/([^/]+)\/services\/([^/]+)\/scale$/, async (m, req) => {
        const body = (await readJson(req)) as { count?: unknown };
        const count = Number(body.count);
        if (!Number.isInteger(count) || count < 0 || count > 100) throw new HttpError(400, 'count must be a whole number from 0 to 100');
        rack.runtime.scale(app(m), decodeURIComponent(m[2] ?? ''), count);
        return { service: m[2], count };
      }],
      ['GET', /^\/v1\/apps\/([^/]+)\/logs$/, async (m, req) => {
        const query = new URL(req.url ?? '/', 'http://rack').searchParams;
        return readLogs(join(rack.options.stateDir, 'logs', 'apps', `${app(m)}.jsonl`), { since: query.get('since') ?? '', service: query.get('service') ?? '', limit: Number(query.get('limit') ?? 1000) });
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
      ['GET', /^\/v1\/events$/, async () => {
        const text = await readFile(join(rack.options.stateDir, 'events.jsonl'), 'utf8').catch(() => '');
        return text.split('\n').filter(Boolean).slice(-500).map((l) => JSON.parse(l) as unknown);
      }],
    ];
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
    return { name: this.rack.options.name ?? 'local', pid: process.pid, routerPort: this.rack.router.port, apps: apps.length, stateDir: this.rack.options.stateDir };
  }

  private authorized(req: IncomingMessage): boolean {
    const given = Buffer.from(req.headers.authorization ?? '');
    const expected = Buffer.from(`Bearer ${this.token}`);
    return given.length === expected.length && timingSafeEqual(given, expected);
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
      const status = e instanceof HttpError ? e.status : e instanceof SlipwayError ? (e.code === 'NOT_FOUND' ? 404 : 400) : 500;
      send(res, status, { error: (e as Error).message, ...(e instanceof SlipwayError ? { code: e.code } : {}) });
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

/** Log lines of an app since a time (ISO), optionally of one service, at most `limit` (the newest). */
async function readLogs(file: string, filter: { since: string; service: string; limit: number }): Promise<unknown[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const lines: { time: string; service: string }[] = [];
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    try {
      const line = JSON.parse(raw) as { time: string; service: string };
      if (filter.since && line.time <= filter.since) continue;
      if (filter.service && line.service !== filter.service) continue;
      lines.push(line);
    } catch {
      // A line cut short by a crash.
    }
  }
  return lines.slice(-Math.max(1, Math.min(filter.limit || 1000, 10_000)));
}

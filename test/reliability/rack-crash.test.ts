/**
 * The local rack killed with SIGKILL at each phase of a deploy, then started again on the same
 * state folder: it must come back consistent. The rack runs as its own process, started with the
 * very command `slipway rack start --local --detach` runs in the background (a process group of
 * its own, output to rack.log); the test talks to it over its HTTP API and reads its state folder
 * (events.jsonl, executions.jsonl, records/) directly.
 *
 * One app, one state folder, the phases in turn: at each, an upload is killed at the phase, the
 * rack restarts, and the test checks that:
 * - no release is lost: every release recorded before the kill is still listed, no build is left
 *   "running", and no execution is left RUNNING (the restart marks the earlier run's aborted, with
 *   the Task state it was in: the design does not resume them, see LocalRack.recover);
 * - no lock is stuck: the app's lock and deploy queue are empty, and a following deploy succeeds
 *   (its release is the one the next phase starts from);
 * - the release the store calls current is the previous one (killed before promote) or the new
 *   one (killed after), the router serves it, and the timers are scheduled as it declares them;
 * - every process of the killed run (app processes, build steps, resource servers) is gone once
 *   the new run has recovered, and nothing of any run is left after the final stop.
 *
 * Phases are made long enough to hit on purpose, and the test checks afterwards that the kill
 * landed in the phase (the events that end it had not been emitted):
 *   queued    a second upload waits for the app's lock behind a deploy that builds (the bundle is
 *             stored and its execution started, but it does nothing until the lock is free). The
 *             instant between storing a bundle and starting its execution is one synchronous call
 *             in the rack: not killable at a chosen point, so not tested on its own.
 *   validate  the bundle has a thousand files: extracting and checking it takes seconds.
 *   build     the Dockerfile runs `sleep 120`.
 *   provision the new release adds a Redis resource: the machine waits a poll interval (1 s) at
 *             least before the server is reported ready; killed once the server was started.
 *   rollout   the new release's server listens only after 5 s.
 *   gate      the health gate bakes for 3 s (the rack's setting).
 *   promote   killed as the Promote step is entered. The step is a few milliseconds of work, so the
 *             kill lands before or after it: either release may serve, and must be consistent.
 *   promoted  killed once Deployment Succeeded was emitted: the new release serves.
 *   rollback  the new release fails its health check (progress deadline 2 s); killed as the
 *             RollBack step is entered (again a short step: before or after it, the previous
 *             release serves).
 * Where a phase has no event marking its start, the Task state the execution entered is read from
 * executions.jsonl (the rack journals it). Two kill points no marker can hit are left behind by
 * hand instead, as a kill there would leave them: a record's lock file (a kill mid-write), every
 * time; and the schedules of the release that served before (a kill between Promote's change of
 * the current release and its reconcile of the timers), in the promote phase.
 *
 * Linux only (processes are followed through /proc). Waits poll with a bound; no duration is asserted.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RackEndpoint } from '../../lib/local/rack/api-server';
import { RackClient } from '../../lib/local/rack/client';
import { resourceBase } from '../../lib/local/rack/local-rack';
import type { ExecutionRecord } from '../../lib/local/executions';
import { FileRecordTable } from '../../lib/local/file-record-table';
import { tarArchive } from '../../lib/pipeline/bundle/tar-writer';
import type { TarEntry } from '../../lib/pipeline/bundle/tar-writer';
import type { Build, Release } from '../../lib/pipeline/domain/model';
import type { SlipwayEvent } from '../../lib/pipeline/events';
import { ReleaseStore } from '../../lib/pipeline/stores/release-store';
import { CLI } from '../support/paths';
import { getVia } from '../support/router-get';
import { QUICK_WEB_SERVICE } from '../support/quick-web-service';

interface BundleOptions {
  /** What the service answers with (before its release id). */
  readonly version: string;
  readonly healthy?: boolean;
  /** A Dockerfile step that sleeps this long (seconds). */
  readonly buildSleep?: number;
  /** The server listens only after this long (ms). */
  readonly listenDelayMs?: number;
  /** A Redis resource, linked to the service. */
  readonly cache?: boolean;
  /** This many extra files (ignored by the build). */
  readonly files?: number;
  readonly progressDeadlineSeconds?: number;
}

/**
 * Each version's timer has a schedule of its own, so that the schedules the rack keeps show
 * which release they were reconciled with. The first of January: they never fire during a test.
 */
const minutes = new Map<string, number>();
function scheduleOf(version: string): string {
  if (!minutes.has(version)) minutes.set(version, minutes.size % 60);
  return `${minutes.get(version)} 3 1 1 *`;
}

function bundle(o: BundleOptions): Buffer {
  const manifest = `${QUICK_WEB_SERVICE}${o.progressDeadlineSeconds !== undefined ? `    labels:\n      slipway/progress-deadline-seconds: "${o.progressDeadlineSeconds}"\n` : ''}${o.cache ? '    resources:\n      - cache\nresources:\n  cache:\n    type: redis\n' : ''}timers:
  tick:
    schedule: "${scheduleOf(o.version)}"
    service: web
    command: node -e "console.log('tick')"
`;
  const server = `const http = require('node:http');
const server = http.createServer((req, res) => {
  if (req.url === '/health') { res.writeHead(${o.healthy === false ? 500 : 200}); return res.end(); }
  res.end(${JSON.stringify(o.version)} + ' ' + process.env.RELEASE${o.cache ? " + ' cache=' + String((process.env.CACHE_URL || '').startsWith('redis://'))" : ''});
});
setTimeout(() => server.listen(Number(process.env.PORT), '127.0.0.1'), ${o.listenDelayMs ?? 0});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;
  const entries: TarEntry[] = [
    { name: 'convox.yml', body: manifest },
    { name: 'Dockerfile', body: `FROM node:20-alpine\nWORKDIR /app\nCOPY . .\n${o.buildSleep ? `RUN sleep ${o.buildSleep}\n` : ''}CMD ["node", "server.js"]\n` },
    { name: '.dockerignore', body: 'assets\n' },
    { name: 'server.js', body: server },
    ...Array.from({ length: o.files ?? 0 }, (_, i) => ({ name: `assets/d${i % 50}/f${i}.txt`, body: `asset ${i}\n` })),
  ];
  return tarArchive(entries, { gzip: true });
}

/** Where the killed deploy must be when the rack dies: an event of its execution, the Task state it entered, a resource server started. */
interface Marker {
  readonly event?: string;
  readonly state?: string;
  /** The resource whose server the rack has started (its server.pid exists). */
  readonly server?: string;
}

interface Phase {
  readonly phase: string;
  /** The upload that is killed. */
  readonly killed: BundleOptions;
  /** An upload made first that holds the app's lock while the killed one waits. */
  readonly holder?: BundleOptions;
  readonly marker: Marker;
  /** Events of the killed execution that end the phase: the kill must come before them. */
  readonly notYet: readonly string[];
  /** Which release must serve after the restart. */
  readonly serves: 'previous' | 'new' | 'either';
  /**
   * Leave the timer schedules of the release that served before, as a kill between Promote's
   * change of the current release and its reconcile of the schedules would (an instant no
   * marker can hit).
   */
  readonly staleSchedules?: boolean;
}

/** In this order on one app; each phase's following deploy is the release the next phase starts from. */
const PHASES: readonly Phase[] = [
  { phase: 'queued', holder: { version: 'holder', buildSleep: 120 }, killed: { version: 'queued' }, marker: { event: 'Deployment Queued' }, notYet: ['Deployment Started'], serves: 'previous' },
  { phase: 'validate', killed: { version: 'validate', files: 1000 }, marker: { state: 'PrepareBuild' }, notYet: ['Build Started', 'Build Reused', 'Bundle Rejected', 'Release Created'], serves: 'previous' },
  { phase: 'build', killed: { version: 'build', buildSleep: 120 }, marker: { event: 'Build Started' }, notYet: ['Build Succeeded', 'Build Failed', 'Release Created'], serves: 'previous' },
  { phase: 'rollout', killed: { version: 'rollout', listenDelayMs: 5000 }, marker: { event: 'Rollout Started' }, notYet: ['Rollout Failed', 'Health Gate Passed'], serves: 'previous' },
  { phase: 'gate', killed: { version: 'gate' }, marker: { state: 'HealthGate' }, notYet: ['Health Gate Passed', 'Health Gate Failed'], serves: 'previous' },
  { phase: 'promote', killed: { version: 'promote' }, marker: { state: 'Promote' }, notYet: [], serves: 'either', staleSchedules: true },
  { phase: 'promoted', killed: { version: 'promoted' }, marker: { event: 'Deployment Succeeded' }, notYet: [], serves: 'new' },
  { phase: 'rollback', killed: { version: 'rollback', healthy: false, progressDeadlineSeconds: 2 }, marker: { state: 'RollBack' }, notYet: [], serves: 'previous' },
  // Last: from here on the app has a resource, which every restart would start again.
  { phase: 'provision', killed: { version: 'provision', cache: true }, marker: { state: 'Provision', server: 'cache' }, notYet: ['Resources Provisioned', 'Rollout Started'], serves: 'previous' },
];


/** A process as /proc shows it; the start time tells it from a later process with the same pid. */
interface Proc {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  readonly start: string;
  readonly state: string;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(rest[1]), pgid: Number(rest[2]), start: rest[19] ?? '', state: rest[0] ?? '' };
  } catch {
    return undefined;
  }
}

function processes(): Proc[] {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).flatMap((n) => readProc(Number(n)) ?? []);
}

const running = (p: Proc): boolean => {
  const now = readProc(p.pid);
  return now !== undefined && now.start === p.start && now.state !== 'Z' && now.state !== 'X';
};

/** The rack process and everything it started: its descendants and its process group. */
function family(root: number): Proc[] {
  const all = processes();
  const found = new Map<number, Proc>();
  const rootProc = all.find((p) => p.pid === root);
  if (rootProc) found.set(root, rootProc);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      if (found.has(p.pid)) continue;
      if (found.has(p.ppid) || p.pgid === root) {
        found.set(p.pid, p);
        grew = true;
      }
    }
  }
  return [...found.values()];
}

function describeProc(p: Proc): string {
  let command = '?';
  try {
    command = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    // Gone meanwhile.
  }
  return `${p.pid}: ${command}`;
}

/** Processes end a moment after their signal: wait for them (bounded) before judging. */
async function survivors(procs: readonly Proc[], waitMs = 15_000): Promise<string[]> {
  const deadline = Date.now() + waitMs;
  while (procs.some(running) && Date.now() < deadline) await sleep(100);
  return procs.filter(running).map(describeProc);
}

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

function jsonLines<T>(file: string): T[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').flatMap((line) => {
    if (!line.trim()) return [];
    try {
      return [JSON.parse(line) as T];
    } catch {
      return [];
    }
  });
}

let stateDir: string;
let rackProcess: ChildProcess | undefined;
let endpoint: RackEndpoint;
let client: RackClient;
/** Every process of every run of the rack that the test saw: none may be left at the end. */
const seen: Proc[] = [];

const eventsOf = (execution: string): SlipwayEvent[] => jsonLines<SlipwayEvent>(join(stateDir, 'events.jsonl')).filter((e) => e.detail.execution === execution);
const typesOf = (execution: string): string[] => eventsOf(execution).map((e) => e['detail-type']);
const journalOf = (name: string): ExecutionRecord | undefined => jsonLines<ExecutionRecord>(join(stateDir, 'executions.jsonl')).filter((r) => r.machine === 'Deploy' && r.name === name).at(-1);
/** The records as the rack keeps them; read-only here (files are replaced atomically, so reading while the rack runs is safe). */
const store = (): ReleaseStore => new ReleaseStore(new FileRecordTable(join(stateDir, 'records')));

/** `slipway rack start --local` in the background, as `--detach` starts it: its own process group, output to rack.log. */
async function startRack(): Promise<void> {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const log = openSync(join(stateDir, 'rack.log'), 'a', 0o600);
  const child = spawn(process.execPath, [CLI, 'rack', 'start', '--local', '--state-dir', stateDir], { detached: true, stdio: ['ignore', log, log], env: { ...process.env, NO_COLOR: '1' } });
  closeSync(log);
  child.on('error', () => undefined);
  rackProcess = child;
  const pid = child.pid;
  if (pid === undefined) throw new Error('the rack did not start');
  endpoint = await until(
    'the rack to answer',
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the rack exited; see ${join(stateDir, 'rack.log')}:\n${readFileSync(join(stateDir, 'rack.log'), 'utf8').slice(-3000)}`);
      const c = await RackClient.connect(stateDir).catch(() => undefined);
      if (!c || c.endpoint.pid !== pid) return undefined;
      client = c;
      return c.endpoint;
    },
    90_000,
    100,
  );
}

async function killRack(): Promise<Proc[]> {
  const doomed = family(endpoint.pid);
  seen.push(...doomed);
  process.kill(endpoint.pid, 'SIGKILL');
  await until('the rack to die', () => (readProc(endpoint.pid)?.state ?? 'Z') === 'Z' || undefined, 10_000);
  return doomed;
}

async function upload(app: string, o: BundleOptions): Promise<string> {
  const r = await client.send<{ execution: string }>('POST', `/v1/apps/${app}/bundles`, { body: bundle(o) });
  return r.execution;
}

async function outcome(execution: string, timeoutMs = 90_000): Promise<ExecutionRecord> {
  return until(
    `deploy ${execution} to end`,
    async () => {
      const r = await client.request<ExecutionRecord>('GET', `/v1/executions/Deploy/${encodeURIComponent(execution)}`);
      return r.status === 'RUNNING' ? undefined : r;
    },
    timeoutMs,
    200,
  );
}

/** Deploy and wait: it must succeed, and its release must serve. */
async function deployOk(app: string, o: BundleOptions): Promise<string> {
  const execution = await upload(app, o);
  const ended = await outcome(execution);
  expect(ended, `deploy ${execution} of ${app}: ${JSON.stringify(typesOf(execution))} ${ended.error ?? ''} ${ended.cause ?? ''}`).toMatchObject({ status: 'SUCCEEDED' });
  const release = (await store().requireApp(app)).release ?? '';
  await expectServes(app, `${o.version} ${release}${o.cache ? ' cache=true' : ''}`);
  return release;
}

const get = (app: string): Promise<{ status: number; body: string }> => getVia(endpoint.routerPort, `web.${app}.localhost`).catch(() => ({ status: 0, body: '' }));

/** The router serves `body` (processes take a moment to come up after a restart). */
async function expectServes(app: string, body: string | ((b: string) => boolean)): Promise<void> {
  const ok = (r: { status: number; body: string }) => r.status === 200 && (typeof body === 'string' ? r.body === body : body(r.body));
  let last = await get(app);
  const deadline = Date.now() + 30_000;
  while (!ok(last) && Date.now() < deadline) {
    await sleep(200);
    last = await get(app);
  }
  if (typeof body === 'string') expect(last).toEqual({ status: 200, body });
  else expect(ok(last), `${app} answered ${JSON.stringify(last)}`).toBe(true);
}

function markerReached(app: string, execution: string, marker: Marker): boolean {
  if (marker.event !== undefined && !typesOf(execution).includes(marker.event)) return false;
  if (marker.state !== undefined && journalOf(execution)?.state !== marker.state) return false;
  if (marker.server !== undefined && !existsSync(join(resourceBase(stateDir), 'resources', app, marker.server, 'server.pid'))) return false;
  return true;
}

describe.skipIf(process.platform !== 'linux')('the local rack killed with SIGKILL mid-deploy restarts consistent (a real rack process, real builds, processes and HTTP)', () => {
  let failed = false;
  afterEach((ctx) => {
    if (ctx.task.result?.state !== 'fail') return;
    if (!failed) process.stderr.write(`rack-crash: the state folder stays for a look: ${stateDir}\n`);
    failed = true;
  });

  const APP = 'shop';
  let deployed = false;

  beforeAll(async () => {
    stateDir = join(mkdtempSync(join(tmpdir(), 'slipway-crash-')), 'state');
    await startRack();
    await client.request('POST', '/v1/apps', { name: APP });
    await deployOk(APP, { version: 'first' });
    deployed = true;
  }, 180_000);

  afterAll(async () => {
    // Whatever happened, leave nothing running: the rack's own stop, then any straggler.
    const last = rackProcess?.pid !== undefined && readProc(rackProcess.pid) ? family(rackProcess.pid) : [];
    if (rackProcess) await client.request('POST', '/v1/rack/stop').catch(() => undefined);
    if (rackProcess?.pid !== undefined) await survivors(last, 60_000);
    for (const p of [...seen, ...last]) {
      if (!running(p)) continue;
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // Gone.
      }
    }
    // A failed run keeps its state folder (rack.log, events, records) for a look.
    if (stateDir && !failed && deployed) {
      rmSync(join(stateDir, '..'), { recursive: true, force: true });
      rmSync(resourceBase(stateDir), { recursive: true, force: true });
    }
  }, 120_000);

  it.each(PHASES)('killed in phase $phase: no release lost, no lock stuck, the right release serves, no process of the killed run left', async (p) => {
    const previous = (await store().requireApp(APP)).release;
    const before = await get(APP);
    expect(before.status, 'the app serves before the phase').toBe(200);
    const killedExecutions: string[] = [];
    if (p.holder) {
      const holder = await upload(APP, p.holder);
      killedExecutions.push(holder);
      await until(`${holder} to build`, () => typesOf(holder).includes('Build Started') || undefined);
    }
    const execution = await upload(APP, p.killed);
    killedExecutions.push(execution);
    await until(`${execution} to reach ${JSON.stringify(p.marker)}`, () => markerReached(APP, execution, p.marker) || undefined);
    const doomed = await killRack();

    // Where the kill landed: inside the phase, not after it.
    const atKill = typesOf(execution);
    for (const type of p.notYet) expect(atKill, `the kill came after ${type}: the phase was missed`).not.toContain(type);
    // Promote and RollBack are short steps: the execution may have ended just before the kill.
    if (p.notYet.length > 0) expect(journalOf(execution)?.status, 'the execution ran when the rack died').toBe('RUNNING');
    const releasesAtKill = (await store().listReleases(APP)).map((r) => r.id);
    const created = eventsOf(execution).find((e) => e['detail-type'] === 'Release Created')?.detail.release;
    // A kill may also land in the middle of a record's write, which leaves the record's lock file:
    // no marker can hit that instant, so the test leaves one every time, as such a kill would.
    writeFileSync(join(stateDir, 'records', 'apps', `${APP}.json.lock`), '');
    const previousVersion = before.body.split(' ')[0] ?? '';
    if (p.staleSchedules) writeFileSync(join(stateDir, 'schedules.json'), JSON.stringify({ [APP]: [{ name: 'tick', schedule: scheduleOf(previousVersion) }] }));

    await startRack();

    // Nothing of the killed run is left once the new run has recovered (it recovers before its API answers).
    expect(await survivors(doomed, 3_000)).toEqual([]);

    // No release lost, none left half-way.
    const releases = (await client.request<Release[]>('GET', `/v1/apps/${APP}/releases`)).map((r) => r.id);
    expect(releases).toEqual(expect.arrayContaining(releasesAtKill));
    if (created) expect(releases).toContain(created);
    const builds = await client.request<Build[]>('GET', `/v1/apps/${APP}/builds`);
    expect(builds.filter((b) => b.status === 'running' || b.status === 'created')).toEqual([]);
    for (const name of killedExecutions) {
      const record = await client.request<ExecutionRecord>('GET', `/v1/executions/Deploy/${encodeURIComponent(name)}`);
      expect(record.status, `execution ${name}`).not.toBe('RUNNING');
    }
    if (p.marker.state !== undefined && p.notYet.length > 0) {
      // The earlier run's execution is aborted, not resumed, and says where it was cut off.
      expect(await client.request<ExecutionRecord>('GET', `/v1/executions/Deploy/${encodeURIComponent(execution)}`)).toMatchObject({ status: 'ABORTED', cause: `the rack stopped while it ran (in state ${p.marker.state})` });
    }
    expect((await client.request<ExecutionRecord[]>('GET', '/v1/executions')).filter((r) => r.status === 'RUNNING')).toEqual([]);

    // No lock stuck, nothing queued.
    expect(await store().lockOf(APP)).toBeUndefined();
    expect(await store().deployQueue(APP)).toEqual([]);

    // The release the store calls current serves: the previous one before promote, the new one after.
    const current = (await store().requireApp(APP)).release;
    const expected = p.serves === 'previous' ? [previous] : p.serves === 'new' ? [created] : [previous, created];
    expect(expected).toContain(current);
    await expectServes(APP, current === previous ? before.body : `${p.killed.version} ${created ?? ''}${p.killed.cache ? ' cache=true' : ''}`);
    // And the timers are scheduled as that release declares them.
    const schedules = JSON.parse(readFileSync(join(stateDir, 'schedules.json'), 'utf8')) as Record<string, unknown>;
    expect(schedules[APP]).toEqual([{ name: 'tick', schedule: scheduleOf(current === previous ? previousVersion : p.killed.version) }]);

    // The app deploys again, and the lock is free after.
    const next = await deployOk(APP, { version: `after-${p.phase}`, ...(p.killed.cache ? { cache: true } : {}) });
    expect(releases).not.toContain(next);
    expect(await store().lockOf(APP)).toBeUndefined();
  }, 180_000);

  it('stops, leaving no process of any run of the rack behind', async () => {
    const last = family(endpoint.pid);
    seen.push(...last);
    await client.request('POST', '/v1/rack/stop');
    rackProcess = undefined;
    expect(await survivors(last, 60_000)).toEqual([]);
    expect(await survivors(seen)).toEqual([]);
  }, 90_000);
});

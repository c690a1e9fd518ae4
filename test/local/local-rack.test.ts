/**
 * The local rack end to end, in process: the synthesized state machines on the local runner,
 * the host builder, a real Redis server, real service processes behind the router. One app goes
 * through a first deploy, a change to one service, a deploy whose health check fails (rolled
 * back automatically), a console rollback, and its timer.
 *
 * Secrets are planted (test/support/planted-secrets.ts): env values (one also a build arg) the
 * build and the app must see, and the Redis password the rack generates. A last release crash-
 * loops printing both, as an app that cannot connect would; at the end every event, execution
 * outcome, build line, rack log line and file under the rack's folders is scanned for them.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tarArchive } from '../../lib/pipeline/bundle/tar-writer';
import type { SlipwayEvent } from '../../lib/pipeline/events';
import { LocalRack, resourceBase } from '../../lib/local/rack/local-rack';
import { LOCAL_RACK_STORES, SecretScan, describeHits } from '../support/planted-secrets';
import type { ScanRoot } from '../support/planted-secrets';
import { getVia } from '../support/router-get';

/**
 * The app's own output may hold a secret the test app printed on purpose (the crash-looping
 * release): in the rack's log stream as app output, and in the app's log file on its stdout and
 * stderr lines. Lines the rack writes itself (stream `system`) and everything else may not.
 */
const APP_OUTPUT = [/^text:app output shop\//, /^file:state\/logs\/apps\/shop\.jsonl#(stdout|stderr)$/];
const scan = new SecretScan(LOCAL_RACK_STORES, [{ pattern: /^logs\/apps\/[^/]+\.jsonl$/, part: (line) => String((JSON.parse(line) as { stream?: unknown }).stream) }]);
const PLANTED = { apiKey: scan.plant('env api key', { allowedIn: APP_OUTPUT }), buildArg: scan.plant('env build arg') };
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

const MANIFEST = `
services:
  web:
    build:
      path: .
      args:
        - PLANTED_BUILD_ARG
    port: 3000
    health:
      path: /health
      grace: 0
      interval: 1
    environment:
      - API_URL=http://api.shop.convox.local:4000
    resources:
      - cache
  api:
    build: ./api
    port: 4000
    internal: true
    health:
      path: /health
      grace: 0
      interval: 1
resources:
  cache:
    type: redis
timers:
  tick:
    schedule: "*/5 * * * *"
    command: node tick.js
    service: web
`;

const SERVER = (version: string, healthy = true, crash = false): string => `
const http = require('node:http');
const sha = (text) => require('node:crypto').createHash('sha256').update(text || '').digest('hex');
${crash ? "console.error('cannot reach ' + process.env.CACHE_URL + ' with key ' + process.env.PLANTED_API_KEY + ' password ' + process.env.CACHE_PASS); process.exit(1);" : ''}
const server = http.createServer(async (req, res) => {
  if (req.url === '/health') { res.writeHead(${healthy ? 200 : 503}); return res.end(); }
  if (req.url === '/planted') return res.end(JSON.stringify({ apiKey: sha(process.env.PLANTED_API_KEY), buildArg: require('node:fs').readFileSync('build-arg.sha256', 'utf8'), cachePassword: sha(new URL(process.env.CACHE_URL).password) }));
  if (req.url === '/api') return res.end(await fetch(process.env.API_URL + '/').then((r) => r.text()));
  res.end('web ${version} cache=' + (process.env.CACHE_URL || '').startsWith('redis://'));
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

const API = `
const http = require('node:http');
const server = http.createServer((req, res) => res.end(req.url === '/health' ? 'ok' : 'api ' + process.env.RELEASE));
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

const DOCKERFILE = 'FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nRUN echo built > built.txt\nCMD ["node", "server.js"]\n';
/** The web image keeps only a hash of its build arg; its build prints the value, which the build log must not show. */
const WEB_DOCKERFILE = DOCKERFILE.replace(
  'RUN echo built > built.txt\n',
  `RUN echo built > built.txt\nARG PLANTED_BUILD_ARG\nRUN node -e "require('fs').writeFileSync('build-arg.sha256', require('crypto').createHash('sha256').update(process.env.PLANTED_BUILD_ARG || '').digest('hex'))"\nRUN echo "the build sees $PLANTED_BUILD_ARG"\n`,
);

function bundle(version: string, healthy = true, options: { crash?: boolean; manifest?: string } = {}): Buffer {
  return tarArchive([
    { name: 'convox.yml', body: options.manifest ?? MANIFEST },
    { name: 'Dockerfile', body: WEB_DOCKERFILE },
    { name: '.dockerignore', body: 'api\n' },
    { name: 'server.js', body: SERVER(version, healthy, options.crash) },
    { name: 'tick.js', body: 'console.log("tick ran on", process.env.RELEASE)\n' },
    { name: 'api/Dockerfile', body: DOCKERFILE },
    { name: 'api/server.js', body: API },
  ]);
}

let rack: LocalRack;
let now = Date.UTC(2026, 10, 28, 12, 1);
const events: SlipwayEvent[] = [];

const get = (host: string, path = '/'): Promise<{ status: number; body: string }> => getVia(rack.router.port, host, path);

async function deploy(version: string, healthy = true, options: { crash?: boolean; manifest?: string } = {}) {
  const since = events.length;
  const { execution } = await rack.deploy('shop', bundle(version, healthy, options));
  const outcome = await rack.outcome('Deploy', execution);
  scan.collect(`deploy outcome ${version}`, JSON.stringify(outcome));
  return { outcome, events: events.slice(since).filter((e) => e.detail.execution === execution) };
}

const types = (list: SlipwayEvent[]): string[] => list.map((e) => e['detail-type']);

let stateDir: string;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'slipway-rack-'));
  rack = await LocalRack.start({
    stateDir,
    deploy: { bakeSeconds: 1, progressDeadlineSeconds: 8 },
    waitMs: 200,
    schedulerNow: () => now,
    onEvent: (e) => events.push(e),
    // The rack's log stream: what the apps print is their own output; the rest is the rack's.
    onLog: (line) => scan.collect(line.stream === 'stdout' || line.stream === 'stderr' ? `app output ${line.app}/${line.service}` : `rack log ${line.app}/${line.service}`, JSON.stringify(line)),
    onBuildOutput: (line) => scan.collect(`build output ${line.app}/${line.services.join('+')}`, line.text),
  });
  await rack.createApp('shop');
  // Through the API's path (a new env version), before the first release: the first deploy takes them.
  await rack.changeEnvironment('shop', { set: { PLANTED_API_KEY: PLANTED.apiKey, PLANTED_BUILD_ARG: PLANTED.buildArg } });
}, 60_000);

afterAll(async () => {
  await rack.stop();
}, 60_000);

describe('the local rack, end to end (real builds, Redis, processes and HTTP)', () => {
  it('deploys an app: builds both services, starts Redis, serves the public service and reaches the internal one', async () => {
    const { outcome, events: seen } = await deploy('v1');
    expect(outcome).toMatchObject({ status: 'SUCCEEDED' });
    expect(types(seen)).toEqual(expect.arrayContaining(['Deployment Started', 'Build Started', 'Build Succeeded', 'Release Created', 'Resources Provisioned', 'Rollout Started', 'Health Gate Passed', 'Deployment Succeeded']));
    expect(seen.filter((e) => e['detail-type'] === 'Build Started').map((e) => e.detail.service).sort()).toEqual(['api', 'web']);
    expect(await get('web.shop.localhost')).toEqual({ status: 200, body: 'web v1 cache=true' });
    const release = (await rack.store.requireApp('shop')).release;
    expect((await get('web.shop.localhost', '/api')).body).toBe(`api ${release}`);
    expect((await get('api.shop.localhost')).status).toBe(404);
    expect(rack.urls('shop')).toEqual([
      { service: 'web', url: `http://web.shop.localhost:${rack.router.port}`, internal: false, internalName: 'web.shop.convox.local:3000' },
      { service: 'api', url: '', internal: true, internalName: 'api.shop.convox.local:4000' },
    ]);
    expect(rack.scheduler.list('shop')).toEqual([{ name: 'tick', schedule: '*/5 * * * *' }]);
  }, 120_000);

  it('hands the planted env values to the build and the app, and the Redis password it generated to the app', async () => {
    const passwords = await scan.watchResourcePasswords(resourceBase(stateDir), { allowedIn: APP_OUTPUT });
    expect(passwords).toEqual(['password of resource shop/cache']);
    const password = scan.watched.find((s) => s.label === passwords[0])?.value ?? '';
    const seen = await get('web.shop.localhost', '/planted');
    expect(seen.status).toBe(200);
    expect(JSON.parse(seen.body)).toEqual({ apiKey: sha256(PLANTED.apiKey), buildArg: sha256(PLANTED.buildArg), cachePassword: sha256(password) });
  });

  it('rebuilds only the service that changed', async () => {
    const { outcome, events: seen } = await deploy('v2');
    expect(outcome).toMatchObject({ status: 'SUCCEEDED' });
    expect(seen.filter((e) => e['detail-type'] === 'Build Started').map((e) => e.detail.service)).toEqual(['web']);
    expect(seen.filter((e) => e['detail-type'] === 'Build Reused').map((e) => e.detail.service)).toEqual(['api']);
    expect((await get('web.shop.localhost')).body).toBe('web v2 cache=true');
  }, 120_000);

  it('rolls a release whose health check fails back automatically, with an alert event, and the previous release keeps serving', async () => {
    const before = (await rack.store.requireApp('shop')).release;
    const { outcome, events: seen } = await deploy('v3', false);
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
    expect(types(seen)).toEqual(expect.arrayContaining(['Rollout Failed', 'Deployment Rolled Back']));
    expect(seen.find((e) => e['detail-type'] === 'Rollout Failed')?.detail.reason).toMatch(/missed its progress deadline \(web: 0\/1 ready after 8s, health check \/health: HTTP 503\)/);
    const rolledBack = seen.find((e) => e['detail-type'] === 'Deployment Rolled Back');
    expect(rolledBack?.detail.previousRelease).toBe(before);
    expect((await rack.store.requireApp('shop')).release).toBe(before);
    expect((await get('web.shop.localhost')).body).toBe('web v2 cache=true');
  }, 120_000);

  it('rolls back from the Rollback machine to a chosen release, which then serves, and pins the app', async () => {
    const releases = await rack.store.listReleases('shop');
    const first = releases[releases.length - 1];
    const { outcome } = rack.rollback({ app: 'shop', release: first?.id ?? '' });
    expect(await outcome).toMatchObject({ status: 'SUCCEEDED' });
    expect((await get('web.shop.localhost')).body).toBe('web v1 cache=true');
    const app = await rack.store.requireApp('shop');
    expect(app.pin?.release).toBe(app.release);
    expect((await rack.store.getRelease('shop', app.release ?? ('' as never)))?.description).toBe(`rollback to ${first?.id ?? ''}`);
  }, 120_000);

  it('runs the timer on its schedule through the Timer machine', async () => {
    const since = events.length;
    now = Date.UTC(2026, 10, 28, 12, 5);
    rack.scheduler.tick();
    const deadline = Date.now() + 30_000;
    while (!events.slice(since).some((e) => e['detail-type'] === 'Timer Succeeded') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(types(events.slice(since))).toEqual(['Timer Started', 'Timer Succeeded']);
    expect(events[since]?.detail).toMatchObject({ app: 'shop', timer: 'tick' });
  }, 60_000);

  it('rolls back a release that crash-loops printing its env value and Redis URL, with both redacted from the failure', async () => {
    await rack.unpin('shop');
    const before = (await rack.store.requireApp('shop')).release;
    // A longer deadline than the rack's 8 s, so the crash loop (three restarts) is what fails it.
    const manifest = MANIFEST.replace('    environment:\n      - API_URL', '    labels:\n      slipway/progress-deadline-seconds: "60"\n    environment:\n      - API_URL');
    const { outcome, events: seen } = await deploy('v5', true, { crash: true, manifest });
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
    const failed = seen.find((e) => e['detail-type'] === 'Rollout Failed');
    expect(failed?.detail.reason).toMatch(/CrashLoopBackOff: .*last output: .*cannot reach redis:\/\/:\*\*\*\*@127\.0\.0\.1:\d+ with key \*\*\*\*/);
    expect((await rack.store.requireApp('shop')).release).toBe(before);
  }, 120_000);

  it('fails a one-off job that prints its Redis URL and env value, with both redacted from the failure and its events', async () => {
    const since = events.length;
    const { execution, outcome } = await rack.run('shop', { service: 'web', command: `node -e "console.log('connecting to ' + process.env.CACHE_URL + ' as ' + process.env.PLANTED_API_KEY + ' with ' + process.env.CACHE_PASS); process.exit(3)"` });
    const ended = await outcome;
    scan.collect(`run outcome ${execution}`, JSON.stringify(ended));
    expect(ended).toMatchObject({ status: 'FAILED' });
    const failed = events.slice(since).find((e) => e['detail-type'] === 'Run Failed');
    expect(failed?.detail.reason).toMatch(/connecting to redis:\/\/:\*\*\*\*@127\.0\.0\.1:\d+ as \*\*\*\*/);
  }, 60_000);

  it('leaves no env value or resource password in any event, outcome, build or rack log line, or file outside the stores', async () => {
    await rack.stop();
    for (const e of events) scan.collect(`event ${e['detail-type']}`, JSON.stringify(e));
    const roots: ScanRoot[] = [{ label: 'state', dir: stateDir }];
    // As root the resources live outside the state folder (resourceBase): scanned as well.
    if (resourceBase(stateDir) !== stateDir) roots.push({ label: 'resources', dir: resourceBase(stateDir) });
    const report = await scan.scan(roots);
    expect(describeHits(report.leaks)).toEqual([]);
    expect(report.secrets).toBe(3);
    expect(report.filesScanned).toBeGreaterThan(20);
    // Non-vacuous: each secret is where it is kept, and the crash-looping app did print them.
    const storedAt = (label: string) => report.stored.filter((h) => h.label === label).map((h) => h.location.replace(/\/[^/]+$/, '/'));
    expect(storedAt('planted env api key')).toContain('file:state/records/env%23shop/');
    expect(storedAt('planted env build arg')).toContain('file:state/records/env%23shop/');
    expect(storedAt('password of resource shop/cache')).toEqual(expect.arrayContaining([expect.stringMatching(/^file:(state|resources)\/resources\/shop\/cache\/$/)]));
    expect(report.allowed.map((h) => `${h.label} ${h.location}`)).toEqual(expect.arrayContaining(['planted env api key file:state/logs/apps/shop.jsonl#stderr', 'password of resource shop/cache file:state/logs/apps/shop.jsonl#stderr']));
    // The stores are private: files 0600 in a 0700 state folder.
    expect(report.exposedStores).toEqual([]);
    expect(report.storeFiles.length).toBeGreaterThan(2);
    expect(statSync(stateDir).mode & 0o077).toBe(0);
    // And the scan does catch a secret where the rack writes.
    const { detected } = await scan.selfTest({ label: 'state', dir: join(stateDir, 'logs') });
    expect(detected).toEqual(expect.arrayContaining(['planted env api key at planted-secrets-self-test.log (plain)', 'planted env api key at text:self-test (plain)', 'password of resource shop/cache at planted-secrets-self-test.json (base64)']));
  }, 60_000);
});

/**
 * The `slipway` command end to end, against a local rack the test starts: every command a user
 * has, through the real CLI process, on real processes, real HTTP and the real pipeline. The app
 * lives in a folder named `shop`, so commands find the app by the folder's name, as Convox's do.
 * Also: a failed deploy exits 3 and says why, `--id` prints only the release id, a cancelled
 * deploy puts the last release back, and a rack killed mid-deploy comes back consistent.
 *
 * Secrets are planted through `env set` (test/support/planted-secrets.ts); the app and a one-off
 * job show they got them (as hashes), and at the end everything the CLI printed and every file in
 * the rack's state folder (its log, events, executions, records, build and app logs, bundles,
 * images) is scanned for them: only `env`, `env get` and `releases info --reveal` may show one.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_TRANSCRIPT, runCli } from '../support/cli';
import { LOCAL_RACK_STORES, SecretScan, describeHits } from '../support/planted-secrets';
import type { ScanRoot } from '../support/planted-secrets';
import { getVia } from '../support/router-get';
import type { RackEndpoint } from '../../lib/local/rack/api-server';
import { processAlive } from '../../lib/local/rack/client';
import { resourceBase } from '../../lib/local/rack/local-rack';
import { QUICK_WEB_SERVICE } from '../support/quick-web-service';

let stateDir: string;
let appDir: string;
let endpoint: RackEndpoint;

/** The commands that exist to show env values, on their stdout only. */
const REVEALS = [/^text:cli\[stdout\] env( get \S+)?( --\S+)*$/, /^text:cli\[stdout\] releases info \S+ --reveal$/];
const scan = new SecretScan(LOCAL_RACK_STORES);
const PLANTED = {
  token: scan.plant('env token', { allowedIn: REVEALS }),
  dsn: scan.plant('env dsn', { allowedIn: REVEALS }),
  /** Only ever given in malformed `env set` arguments, which must fail without quoting it. */
  typo: scan.plant('env set typo'),
};
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

const cli = (...args: string[]) => runCli([...args, '--state-dir', stateDir], { cwd: appDir, env: { SLIPWAY_RACK: '' } });

const MANIFEST = (options: { test?: string } = {}) => `${QUICK_WEB_SERVICE}    labels:
      slipway/progress-deadline-seconds: "8"
    environment:
      - GREETING
    test: ${options.test ?? 'node test.js'}
  worker:
    build: ./worker
timers:
  tick:
    schedule: "0 3 * * *"
    service: web
    command: node -e "console.log('tick ran')"
`;

function writeApp(version: string, options: { healthy?: boolean; slowBuild?: boolean; worker?: string; test?: string } = {}): void {
  mkdirSync(join(appDir, 'worker'), { recursive: true });
  writeFileSync(join(appDir, 'convox.yml'), MANIFEST(options));
  writeFileSync(join(appDir, '.dockerignore'), 'worker\n');
  writeFileSync(join(appDir, 'Dockerfile'), `FROM node:20-alpine\nWORKDIR /app\nCOPY . .\n${options.slowBuild ? 'RUN sleep 30\n' : ''}CMD ["node", "server.js"]\n`);
  writeFileSync(join(appDir, 'test.js'), "console.log('1 passing');\n");
  writeFileSync(
    join(appDir, 'server.js'),
    `const http = require('node:http');
console.log('web ${version} starting');
${options.healthy === false ? "console.log('cannot reach the payments database');\n" : ''}const server = http.createServer((req, res) => {
  if (req.url === '/health') { res.writeHead(${options.healthy === false ? 500 : 200}); return res.end(); }
  if (req.url === '/planted') return res.end([process.env.PLANTED_TOKEN, process.env.PLANTED_DSN].map((v) => require('node:crypto').createHash('sha256').update(v || '').digest('hex')).join(' '));
  res.end(process.env.GREETING + ' from ${version}');
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
  );
  writeFileSync(join(appDir, 'worker', 'Dockerfile'), 'FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nCMD ["node", "worker.js"]\n');
  writeFileSync(join(appDir, 'worker', 'worker.js'), `console.log('worker ${options.worker ?? 'w1'} up'); setInterval(() => {}, 1000); process.on('SIGTERM', () => process.exit(0));\n`);
}

const get = (path = '/'): Promise<{ status: number; body: string }> => getVia(endpoint.routerPort, 'web.shop.localhost', path);

const readEndpoint = (): RackEndpoint => JSON.parse(readFileSync(join(stateDir, 'rack.json'), 'utf8')) as RackEndpoint;
const alive = processAlive;
/** Processes end a moment after their signal: wait for them (a few seconds at most) before judging. */
async function survivors(pids: readonly number[]): Promise<string[]> {
  const deadline = Date.now() + 15_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return pids.filter(alive).map((pid) => `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`);
}
const appPids = (): number[] => JSON.parse(readFileSync(join(stateDir, 'runtime', 'pids.json'), 'utf8')) as number[];
const releaseIds = (text: string): string[] => [...text.matchAll(/^(R[A-Z]{10})/gm)].map((m) => m[1] as string);

beforeAll(() => {
  stateDir = join(mkdtempSync(join(tmpdir(), 'slipway-session-')), 'state');
  appDir = join(mkdtempSync(join(tmpdir(), 'slipway-app-')), 'shop');
  mkdirSync(appDir);
  writeApp('v1');
});

afterAll(async () => {
  await runCli(['rack', 'stop', '--state-dir', stateDir]);
  rmSync(appDir, { recursive: true, force: true });
}, 240_000);

describe('the slipway CLI against a local rack (real processes)', () => {
  it('starts the rack in the background, with its token readable only by its owner, and shows it', async () => {
    const r = await cli('rack', 'start', '--local', '--detach');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/local rack started in the background \(pid \d+\)/);
    endpoint = readEndpoint();
    expect(statSync(join(stateDir, 'rack.token')).mode & 0o777).toBe(0o600);
    const rack = await cli('rack');
    expect(rack.code, rack.stderr).toBe(0);
    expect(rack.stdout).toMatch(/^Name +local$/m);
    expect(rack.stdout).toMatch(/^Status +running$/m);
    const racks = await cli('racks', '--output', 'json');
    expect(JSON.parse(racks.stdout)).toContainEqual(expect.objectContaining({ name: 'local', kind: 'local', status: 'running' }));
    const params = await cli('rack', 'params');
    expect(params.stdout).toMatch(/^NAME +VALUE$/m);
    const monitoring = await cli('rack', 'params', 'set', 'monitoring=true');
    expect(monitoring.code, monitoring.stderr).toBe(0);
    expect(monitoring.stdout).toContain('monitoring is already true');
  }, 240_000);

  it('creates the app named after the folder, and takes env before the first release', async () => {
    const created = await cli('apps', 'create');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toBe('Creating shop... OK\n');
    const env = await cli('env', 'set', 'GREETING=hello');
    expect(env.code, env.stderr).toBe(0);
    expect(env.stdout).toContain('shop has no release yet');
    expect(env.stdout).not.toContain('hello');
    const apps = await cli('apps', '--output', 'json');
    expect(JSON.parse(apps.stdout)).toEqual([expect.objectContaining({ name: 'shop' })]);
  }, 60_000);

  it('deploys with --id: only the release id on stdout, every phase on stderr', async () => {
    const r = await cli('deploy', '--id');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^R[A-Z]{10}\n$/);
    expect(r.stderr).toMatch(/Uploading source/);
    expect(r.stderr).toMatch(/Build Started web/);
    expect(r.stderr).toMatch(/ build B[A-Z]{10} \| /);
    expect(r.stderr).toMatch(/Health Gate Passed/);
    expect(r.stderr).toMatch(/Deployment Succeeded/);
    expect(await get()).toEqual({ status: 200, body: 'hello from v1' });
  }, 120_000);

  it('rebuilds only the service that changed, showing the rollout as it goes', async () => {
    writeApp('v2');
    const r = await cli('deploy', '-d', 'v2: faster checkout');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Build Reused worker/);
    expect(r.stdout).toMatch(/Build Started web/);
    expect(r.stdout).not.toMatch(/Build Started worker/);
    expect(r.stdout).toMatch(/waiting on the rollout of R[A-Z]{10}: web \d\/1, worker \d\/1 ready/);
    expect(r.stdout).toMatch(/^Release: R[A-Z]{10}$/m);
    expect(await get()).toEqual({ status: 200, body: 'hello from v2' });
  }, 120_000);

  it('shows the app, its services, processes, scale, builds and releases, as tables and as JSON', async () => {
    const info = await cli('apps', 'info');
    expect(info.stdout).toMatch(/^Status +running$/m);
    expect(info.stdout).toContain(`http://web.shop.localhost:${endpoint.routerPort}`);
    const services = await cli('services');
    expect(services.stdout).toMatch(/^SERVICE +URL +INTERNAL$/m);
    expect(services.stdout).toMatch(new RegExp(`^web +http://web\\.shop\\.localhost:${endpoint.routerPort} +web\\.shop\\.convox\\.local:3000$`, 'm'));
    const ps = await cli('ps');
    expect(ps.stdout).toMatch(/^ID +SERVICE +STATUS +RELEASE +STARTED +COMMAND$/m);
    expect(ps.stdout).toMatch(/^\S+ +web +running +R[A-Z]{10} /m);
    const psJson = JSON.parse((await cli('ps', '-s', 'worker', '--output', 'json')).stdout) as { service: string }[];
    expect(psJson.length).toBe(1);
    expect(psJson[0]?.service).toBe('worker');
    const scale = await cli('scale');
    expect(scale.stdout).toMatch(/^SERVICE +DESIRED +RUNNING +CPU +MEMORY$/m);
    expect(scale.stdout).toMatch(/^web +1 +1 /m);
    expect((await cli('scale', 'nope')).stderr).toContain('service "nope" not found in app shop');
    const builds = await cli('builds');
    expect(builds.stdout).toMatch(/^ID +STATUS +RELEASE +STARTED +ELAPSED +DESCRIPTION$/m);
    const build = /^(B[A-Z]{10}) +complete/m.exec(builds.stdout)?.[1] ?? '';
    expect(build).toMatch(/^B[A-Z]{10}$/);
    expect((await cli('builds', 'info', build)).stdout).toMatch(/^Status +complete$/m);
    expect((await cli('builds', 'logs', build)).code).toBe(0);
    const releases = await cli('releases');
    expect(releases.stdout).toMatch(/^ID +STATUS +BUILD +CREATED +DESCRIPTION$/m);
    expect(releases.stdout).toMatch(/^R[A-Z]{10} +active +B[A-Z]{10} +\S+ \S+ +build B[A-Z]{10} v2: faster checkout$/m);
    const current = releaseIds(releases.stdout)[0] ?? '';
    const masked = await cli('releases', 'info', current);
    expect(masked.stdout).toMatch(/GREETING=\*\*\*\*/);
    expect(masked.stdout).not.toContain('hello');
    expect((await cli('releases', 'info', current, '--reveal')).stdout).toContain('GREETING=hello');
    expect((await cli('releases', 'manifest', current)).stdout).toContain('services:');
    const json = JSON.parse((await cli('releases', '-o', 'json')).stdout) as { id: string; active: boolean }[];
    expect(json[0]).toMatchObject({ id: current, active: true });
  }, 240_000);

  it('scales a service through the pipeline and keeps the size', async () => {
    const r = await cli('scale', 'web', '--count', '2', '--memory', '256');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Scaling web of shop (count=2 memory=256)... OK');
    expect(r.stdout).toMatch(/Promotion Succeeded/);
    expect((await cli('scale', 'web')).stdout).toMatch(/^web +2 +2 +\S* +256$/m);
    expect((await cli('scale', 'web', '--count', 'many')).stderr).toContain('--count many is not a whole number from 0 to 100');
    expect((await cli('scale', '--count', '1')).stderr).toContain('service name required');
    expect((await cli('scale', 'web', '--count', '1')).code).toBe(0);
  }, 240_000);

  it('shows the logs of every process, filtered by service and text', async () => {
    const all = await cli('logs', '--since', '1h', '--no-follow');
    expect(all.stdout).toMatch(/^\d{4}-\d\d-\d\dT\S+ web\/web\.R[A-Z]{10}\.\d+ web v2 starting$/m);
    expect(all.stdout).toMatch(/^\S+ worker\/worker\.R[A-Z]{10}\.1 worker w1 up$/m);
    const worker = await cli('logs', '-s', 'worker', '--since', '1h', '--no-follow');
    expect(worker.stdout).toContain('worker w1 up');
    expect(worker.stdout).not.toContain('web v2');
    const filtered = await cli('logs', '--filter', 'v2 starting', '--since', '1h', '--no-follow');
    expect(filtered.stdout).toContain('web v2 starting');
    expect(filtered.stdout).not.toContain('worker w1');
  }, 60_000);

  it('changes the env as a new release, and promotes it with --promote', async () => {
    expect((await cli('env')).stdout).toBe('GREETING=hello\n');
    expect((await cli('env', 'get', 'GREETING')).stdout).toBe('hello\n');
    expect((await cli('env', 'get', 'NOPE')).stderr).toContain('env not found: NOPE');
    const staged = await cli('env', 'set', 'EXTRA=1', '--id');
    expect(staged.code, staged.stderr).toBe(0);
    expect(staged.stdout).toMatch(/^R[A-Z]{10}\n$/);
    const promoted = await cli('env', 'set', 'GREETING=hi', '--promote');
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stdout).not.toContain('=hi');
    expect(promoted.stdout).toMatch(/Promotion Succeeded/);
    expect(await get()).toEqual({ status: 200, body: 'hi from v2' });
    expect((await cli('releases')).stdout).toMatch(/env change:GREETING/);
    const unset = await cli('env', 'unset', 'EXTRA');
    expect(unset.code, unset.stderr).toBe(0);
    expect((await cli('env')).stdout).toBe('GREETING=hi\n');
  }, 240_000);

  it('takes planted secrets through env set and hands them to the app and its jobs, printing them only where asked to', async () => {
    const set = await cli('env', 'set', `PLANTED_TOKEN=${PLANTED.token}`, `PLANTED_DSN=${PLANTED.dsn}`, '--promote');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/Setting PLANTED_DSN, PLANTED_TOKEN\.\.\. OK/);
    expect(set.stdout).toMatch(/Promotion Succeeded/);
    expect((await cli('env', 'get', 'PLANTED_TOKEN')).stdout).toBe(`${PLANTED.token}\n`);
    expect(await get('/planted')).toEqual({ status: 200, body: `${sha256(PLANTED.token)} ${sha256(PLANTED.dsn)}` });
    const job = await runCli(['run', '--state-dir', stateDir, 'web', 'node', '-e', "console.log('dsn ' + require('crypto').createHash('sha256').update(process.env.PLANTED_DSN).digest('hex'))"], { cwd: appDir, env: { SLIPWAY_RACK: '' } });
    expect(job.code, job.stderr).toBe(0);
    expect(job.stdout).toContain(`dsn ${sha256(PLANTED.dsn)}`);
    const current = releaseIds((await cli('releases')).stdout)[0] ?? '';
    expect((await cli('releases', 'info', current)).stdout).toMatch(/PLANTED_TOKEN=\*\*\*\*/);
    expect((await cli('releases', 'info', current, '--reveal')).stdout).toContain(`PLANTED_TOKEN=${PLANTED.token}`);
    // Malformed assignments fail without quoting what may be the value.
    for (const typo of [`=${PLANTED.typo}`, PLANTED.typo, `PLANTED-TYPO=${PLANTED.typo}`]) {
      const bad = await cli('env', 'set', typo);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/^error: /);
    }
    // The env store keeps the values as they are (the local rack's codec is plain), in private files.
    const store = join(stateDir, 'records', 'env%23shop');
    const versions = readdirSync(store).filter((f) => /^\d+\.json$/.test(f));
    expect(versions.some((f) => readFileSync(join(store, f), 'utf8').includes(PLANTED.token))).toBe(true);
    for (const f of versions) expect(statSync(join(store, f)).mode & 0o077).toBe(0);
  }, 240_000);

  it('builds without promoting, then promotes the newest release', async () => {
    writeApp('v3');
    const built = await cli('build');
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toMatch(/^Build: B[A-Z]{10}\nRelease: R[A-Z]{10}\n$/m);
    expect(await get()).toEqual({ status: 200, body: 'hi from v2' });
    const release = /Release: (R[A-Z]{10})/.exec(built.stdout)?.[1] ?? '';
    const promoted = await cli('releases', 'promote', '--id');
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stdout).toBe(`${release}\n`);
    expect(await get()).toEqual({ status: 200, body: 'hi from v3' });
  }, 120_000);

  it('runs one-off jobs and the tests, with their output and their exit status', async () => {
    // As with Convox, what follows the service is the command, flags included: slipway's own flags go before it.
    const run = (...command: string[]) => runCli(['run', '--state-dir', stateDir, 'web', ...command], { cwd: appDir, env: { SLIPWAY_RACK: '' } });
    const ok = await run('node', '-e', "console.log('job says ' + process.env.GREETING)");
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('job says hi');
    const bad = await run('node -e "console.log(\'boom\'); process.exit(4)"');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/exited with code 4/);
    const tests = await cli('test');
    expect(tests.code, tests.stderr).toBe(0);
    expect(tests.stdout).toContain('Running web: node test.js');
    expect(tests.stdout).toContain('1 passing');
    expect(tests.stdout).toMatch(/Tests passed on release R[A-Z]{10}/);
    writeApp('v3', { test: 'node -e "process.exit(2)"' });
    const failing = await cli('test');
    expect(failing.code).toBe(1);
    expect(failing.stderr).toContain('the tests of web failed');
    expect(await get()).toEqual({ status: 200, body: 'hi from v3' });
    writeApp('v3');
  }, 180_000);

  it('lists the timers and runs one now', async () => {
    const timers = await cli('timers');
    expect(timers.stdout).toMatch(/^TIMER +SCHEDULE +SERVICE +COMMAND$/m);
    expect(timers.stdout).toMatch(/^tick +0 3 \* \* \* +web +node -e/m);
    const run = await cli('timers', 'run', 'tick');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Timer Succeeded/);
  }, 60_000);

  it('rolls back a version whose health check fails by itself, says why with the last log lines, and exits 3', async () => {
    writeApp('v4', { healthy: false });
    const r = await cli('deploy');
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('Deployment Rolled Back');
    expect(r.stderr).toContain('error: deploy failed and was rolled back: the previous release serves');
    expect(r.stderr).toMatch(/reason: Rollout Failed \(web\): the rollout missed its progress deadline \(web: 0\/1 ready after 8s, health check \/health: HTTP 500\)/);
    expect(r.stderr).toMatch(/last log lines of web:\n(.*\n)*.*cannot reach the payments database/);
    expect(await get()).toEqual({ status: 200, body: 'hi from v3' });
  }, 120_000);

  it('rolls back to the first release through the Rollback machine, pins the app, and unpins it', async () => {
    const ids = releaseIds((await cli('releases', '--limit', '50')).stdout);
    const first = ids[ids.length - 1] as string;
    const r = await cli('releases', 'rollback', first, '--id');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^R[A-Z]{10}\n$/);
    expect(r.stderr).toContain('Rollback Succeeded');
    expect(await get()).toEqual({ status: 200, body: 'hello from v1' });
    expect((await cli('apps')).stdout).toMatch(/^shop +pinned +R[A-Z]{10}$/m);
    expect((await cli('apps', 'unpin')).code).toBe(0);
    expect((await cli('apps')).stdout).toMatch(/^shop +running +R[A-Z]{10}$/m);
  }, 120_000);

  it('cancels a running deploy and puts the last release back', async () => {
    writeApp('v5', { slowBuild: true });
    const started = await cli('deploy', '--no-wait');
    expect(started.code, started.stderr).toBe(0);
    const deadline = Date.now() + 30_000;
    while (!/Build Started/.test((await cli('events', '--since', '1m')).stdout) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const cancel = await cli('apps', 'cancel');
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toMatch(/Deployment Cancelled/);
    expect(await get()).toEqual({ status: 200, body: 'hello from v1' });
    expect((await cli('apps', 'cancel')).stderr).toMatch(/no deploy of shop is running/);
  }, 120_000);

  it('lists the recent events, as a table and as JSON', async () => {
    const events = await cli('events', '--limit', '500');
    expect(events.stdout).toMatch(/^TIME +APP +EVENT +DETAIL$/m);
    expect(events.stdout).toMatch(/shop +Deployment Succeeded/);
    const json = JSON.parse((await cli('events', '-a', 'shop', '-o', 'json', '--limit', '500')).stdout) as { 'detail-type': string }[];
    expect(json.map((e) => e['detail-type'])).toEqual(expect.arrayContaining(['Deployment Rolled Back', 'Rollback Succeeded', 'Run Failed', 'Deployment Cancelled']));
    expect(JSON.stringify(json)).not.toMatch(/hello|"hi"/);
  }, 60_000);

  it('comes back consistent after being killed mid-deploy: the serving release is restored and the next deploy proceeds', async () => {
    writeApp('v6', { slowBuild: true });
    const started = await cli('deploy', '--no-wait');
    expect(started.code, started.stderr).toBe(0);
    const deadline = Date.now() + 30_000;
    while (readFileSync(join(stateDir, 'events.jsonl'), 'utf8').split('"Build Started"').length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const before = appPids();
    process.kill(endpoint.pid, 'SIGKILL');
    while (alive(endpoint.pid)) await new Promise((r) => setTimeout(r, 50));
    const restart = await cli('rack', 'start', '--local', '--detach');
    expect(restart.code, restart.stderr).toBe(0);
    endpoint = readEndpoint();
    // The old run's processes are gone; the current release serves again from fresh ones.
    expect(await survivors(before)).toEqual([]);
    const deadline2 = Date.now() + 30_000;
    let answer = await get().catch(() => ({ status: 0, body: '' }));
    while (answer.status !== 200 && Date.now() < deadline2) {
      await new Promise((r) => setTimeout(r, 200));
      answer = await get().catch(() => ({ status: 0, body: '' }));
    }
    expect(answer).toEqual({ status: 200, body: 'hello from v1' });
    writeApp('v7', { worker: 'w2' });
    const next = await cli('deploy');
    expect(next.code, next.stderr).toBe(0);
    // A deploy runs with the app's current environment (GREETING=hi), not the rolled-back release's.
    expect(await get()).toEqual({ status: 200, body: 'hi from v7' });
  }, 180_000);

  it('deletes the app with its processes', async () => {
    const pids = appPids();
    const r = await cli('apps', 'delete', 'shop');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Deleting shop... OK');
    expect(await survivors(pids)).toEqual([]);
    expect((await cli('apps', '-o', 'json')).stdout.trim()).toBe('[]');
    expect((await cli('releases')).stderr).toMatch(/app not found: shop/);
  }, 240_000);

  it('stops, leaving no process behind', async () => {
    const r = await cli('rack', 'stop');
    expect(r.code).toBe(0);
    expect(await survivors([endpoint.pid])).toEqual([]);
    expect((await cli('rack')).stderr).toMatch(/the local rack is not running/);
  }, 240_000);

  it('left no planted env value in any CLI output, log, event, execution, record or file of the rack outside the env store', async () => {
    for (const run of CLI_TRANSCRIPT) {
      // The source names the command without --state-dir and its folder, and without what follows an `=` (a value).
      const command = run.args.filter((a, i, all) => a !== '--state-dir' && all[i - 1] !== '--state-dir').map((a) => a.replace(/=[^]*$/, '=…')).join(' ');
      scan.collect(`cli[stdout] ${command}`, run.stdout);
      scan.collect(`cli[stderr] ${command}`, run.stderr);
    }
    // Any resource the app had: its passwords count as well (this app has none; the in-process rack test has Redis).
    await scan.watchResourcePasswords(resourceBase(stateDir));
    const roots: ScanRoot[] = [{ label: 'state', dir: stateDir }];
    if (resourceBase(stateDir) !== stateDir) roots.push({ label: 'resources', dir: resourceBase(stateDir) });
    const report = await scan.scan(roots);
    expect(describeHits(report.leaks)).toEqual([]);
    expect(report.textsScanned).toBeGreaterThan(100);
    expect(report.filesScanned).toBeGreaterThan(20);
    expect(readdirSync(stateDir)).toEqual(expect.arrayContaining(['rack.log', 'events.jsonl', 'executions.jsonl', 'records', 'logs']));
    // Shown where asked for, and deleting the app took its env versions (and with them the values) away.
    expect(report.allowed.filter((h) => h.label === 'planted env token').map((h) => h.location)).toEqual(expect.arrayContaining(['text:cli[stdout] env get PLANTED_TOKEN', expect.stringMatching(/^text:cli\[stdout\] releases info R[A-Z]{10} --reveal$/)]));
    expect(report.stored).toEqual([]);
    expect(report.exposedStores).toEqual([]);
    const { detected } = await scan.selfTest({ label: 'state', dir: stateDir });
    expect(detected).toEqual(expect.arrayContaining(['planted env token at planted-secrets-self-test.log (plain)', 'planted env token at text:self-test (plain)', 'planted env set typo at planted-secrets-self-test.json (base64)']));
  }, 60_000);
});

/**
 * The local rack under concurrent load, in process on a temp state folder: the synthesized Deploy
 * machine on the local runner, the host builder, real service processes behind the router, and
 * uploads through the rack's HTTP API as the CLI sends them (LocalRackConnection).
 *
 * 1. Twenty uploads of one app at once: the app's lock admits one deploy at a time, stale queued
 *    uploads are superseded, and the newest upload is what serves in the end.
 * 2. Fifty apps deployed at once all come up behind the router, and deleting them leaves no
 *    process behind.
 * 3. The queue race the burst can hit, made deterministic on the Deploy steps and a file record
 *    store: a waiting upload looks again only after a newer one took the lock.
 *
 * Waits poll with a bound; no duration is asserted.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { LocalRackConnection } from '../../lib/cli/racks/local-rack-connection';
import { DirBundleStore } from '../../lib/local/dir-bundle-store';
import { FileRecordTable } from '../../lib/local/file-record-table';
import type { ExecutionRef, ExecutionStatus } from '../../lib/cli/racks/rack-connection';
import { RackApiServer } from '../../lib/local/rack/api-server';
import { processAlive } from '../../lib/local/rack/client';
import { LocalRack } from '../../lib/local/rack/local-rack';
import { LOCAL_DEPLOY_CONFIG } from '../../lib/local/rack/local-rack';
import type { LocalRackOptions } from '../../lib/local/rack/local-rack';
import { tarArchive } from '../../lib/pipeline/bundle/tar-writer';
import type { SlipwayEvent } from '../../lib/pipeline/events';
import { EventPublisher } from '../../lib/pipeline/events';
import type { ObjectCreatedEvent } from '../../lib/pipeline/ports/bundle-store';
import { acquireLock, uploadOrder } from '../../lib/pipeline/steps/deploy';
import type { DeployContext, DeployState } from '../../lib/pipeline/steps/deploy';
import { RecordEnvStore } from '../../lib/pipeline/stores/env-store';
import { ReleaseStore, systemClock } from '../../lib/pipeline/stores/release-store';
import { AlarmsDouble, BuilderDouble, ProvisionerDouble, RuntimeDouble, SchedulerDouble } from '../support/pipeline-doubles';
import { getVia } from '../support/router-get';
import { QUICK_WEB_SERVICE } from '../support/quick-web-service';

const MANIFEST = QUICK_WEB_SERVICE;

/** Answers its health check and, on any other path, the text it was built with. */
const SERVER = (says: string): string => `
const http = require('node:http');
const server = http.createServer((req, res) => res.end(req.url === '/health' ? 'ok' : ${JSON.stringify(says)}));
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** No RUN step: the local build only copies the context, so a build costs next to nothing. */
const DOCKERFILE = 'FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n';

function bundle(says: string): Buffer {
  return tarArchive([
    { name: 'convox.yml', body: MANIFEST },
    { name: 'Dockerfile', body: DOCKERFILE },
    { name: 'server.js', body: SERVER(says) },
  ]);
}

interface Harness {
  readonly stateDir: string;
  readonly rack: LocalRack;
  readonly conn: LocalRackConnection;
  stop(): Promise<void>;
}

/** A rack with its API server on a fresh state folder, and the CLI's connection to it. */
async function startRack(options: Partial<LocalRackOptions> = {}): Promise<Harness> {
  const root = mkdtempSync(join(tmpdir(), 'slipway-concurrent-'));
  const stateDir = join(root, 'state');
  // The rack's own pipeline settings (1 s polls), with a short bake and room for a loaded machine.
  const rack = await LocalRack.start({ stateDir, deploy: { bakeSeconds: 1, progressDeadlineSeconds: 120 }, ...options });
  const api = new RackApiServer(rack, () => undefined);
  await api.start();
  const conn = await LocalRackConnection.connect(stateDir);
  return {
    stateDir,
    rack,
    conn,
    stop: async () => {
      await api.stop();
      await rack.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Poll executions through the API until none runs; fails naming those still running. */
async function settleAll(conn: LocalRackConnection, refs: readonly ExecutionRef[], timeoutMs: number): Promise<Map<string, ExecutionStatus>> {
  const done = new Map<string, ExecutionStatus>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const ref of refs) {
      if (done.has(ref.name)) continue;
      const status = await conn.execution(ref);
      if (status.status !== 'RUNNING') done.set(ref.name, status);
    }
    if (done.size === refs.length) return done;
    if (Date.now() > deadline) throw new Error(`still running after ${timeoutMs} ms: ${refs.filter((r) => !done.has(r.name)).map((r) => r.name).join(', ')}`);
    await sleep(250);
  }
}

/** Every event the rack wrote, in the order it wrote them (one append per batch). */
function eventLog(stateDir: string): SlipwayEvent[] {
  return readFileSync(join(stateDir, 'events.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as SlipwayEvent);
}

/**
 * Record the order in which the rack ranks each upload (the Object Created event's time, then
 * S3's sequencer), as its Deploy executions start: "newest" is what the pipeline calls newest.
 */
function recordUploadOrder(rack: LocalRack): Map<string, string> {
  const orders = new Map<string, string>();
  const start = rack.executions.start.bind(rack.executions);
  rack.executions.start = (machine, name, input) => {
    const event = (input as { event?: ObjectCreatedEvent } | undefined)?.event;
    if (machine.name === 'Deploy' && event) orders.set(name, uploadOrder(event));
    return start(machine, name, input);
  };
  return orders;
}

describe('concurrent deploys on the local rack (real API, builds, processes and router)', () => {
  it('20 concurrent uploads of one app: one deploy holds the app at a time, stale queued uploads are superseded, the newest serves, and the lock ends free', async () => {
    const APP = 'burst';
    const h = await startRack();
    try {
      const orders = recordUploadOrder(h.rack);
      await h.conn.createApp(APP);
      const versions = Array.from({ length: 20 }, (_, i) => `v${String(i + 1).padStart(2, '0')}`);
      // All twenty in flight together; a few ms apart so that they are not all in one millisecond.
      const refs = await Promise.all(versions.map(async (v, i) => {
        await sleep(i * 3);
        return { ...(await h.conn.upload(APP, bundle(`burst ${v}`), { promote: true, autoRollback: true })), says: `burst ${v}` };
      }));
      expect(new Set(refs.map((r) => r.name)).size).toBe(20);
      const statuses = await settleAll(h.conn, refs, 240_000);

      // (c) Every upload ended, and in a defined way: deployed, or superseded with an event saying so.
      for (const ref of refs) expect(statuses.get(ref.name), ref.name).toMatchObject({ status: 'SUCCEEDED' });
      const events = eventLog(h.stateDir).filter((e) => e.detail.app === APP);
      const of = (execution: string, type: string): number[] => events.flatMap((e, i) => (e.detail.execution === execution && e['detail-type'] === type ? [i] : []));
      expect(events.filter((e) => ['Deployment Failed', 'Deployment Rolled Back', 'Bundle Rejected', 'Build Failed', 'Rollout Failed', 'Health Gate Failed'].includes(e['detail-type']))).toEqual([]);
      const deployed: { ref: (typeof refs)[number]; started: number; ended: number; order: string }[] = [];
      for (const ref of refs) {
        const [started, ...again] = of(ref.name, 'Deployment Started');
        const succeeded = of(ref.name, 'Deployment Succeeded');
        const superseded = of(ref.name, 'Deployment Superseded');
        expect(again, `${ref.name} started twice`).toEqual([]);
        if (started === undefined) {
          expect({ execution: ref.name, superseded: superseded.length, succeeded: succeeded.length }).toEqual({ execution: ref.name, superseded: 1, succeeded: 0 });
        } else {
          expect({ execution: ref.name, superseded: superseded.length, succeeded: succeeded.length }).toEqual({ execution: ref.name, superseded: 0, succeeded: 1 });
          deployed.push({ ref, started, ended: succeeded[0] ?? -1, order: orders.get(ref.name) ?? '' });
        }
      }

      // (a) Lock sections (Deployment Started, emitted once the lock is taken, to Deployment
      // Succeeded, emitted before it is given back) never overlap, in the order the rack wrote them.
      deployed.sort((a, b) => a.started - b.started);
      for (const [i, d] of deployed.entries()) {
        expect(d.ended).toBeGreaterThan(d.started);
        const next = deployed[i + 1];
        if (next) expect(next.started, `${next.ref.name} started while ${d.ref.name} held the app`).toBeGreaterThan(d.ended);
      }
      // Once a newer upload has arrived, an older one never deploys after it.
      expect(deployed.map((d) => d.order)).toEqual([...deployed.map((d) => d.order)].sort());

      // (b) The newest upload, as the rack orders them, deployed last and serves.
      expect(orders.size).toBe(20);
      const newest = [...orders.entries()].sort(([, a], [, b]) => (a < b ? -1 : 1)).at(-1)?.[0];
      const last = deployed.at(-1);
      expect(last?.ref.name).toBe(newest);
      const release = events[last?.ended ?? -1]?.detail.release;
      expect((await h.conn.app(APP)).release).toBe(release);
      expect(await getVia(h.rack.router.port, `web.${APP}.localhost`)).toEqual({ status: 200, body: last?.ref.says });
      expect((await h.conn.releases(APP)).map((r) => r.id).sort()).toEqual(deployed.map((d) => events[d.ended]?.detail.release).sort());

      // Nothing is left holding or waiting for the app.
      expect(await h.rack.store.lockOf(APP)).toBeUndefined();
      expect(await h.rack.store.deployQueue(APP)).toEqual([]);
      expect(h.rack.runningDeploys(APP)).toEqual([]);
    } finally {
      await h.stop();
    }
  }, 300_000);

  it('50 apps deployed at once all come up behind the router, each answering with its own name, and deleting them leaves no process behind', async () => {
    const h = await startRack();
    try {
      const apps = Array.from({ length: 50 }, (_, i) => `fleet-${String(i + 1).padStart(2, '0')}`);
      await Promise.all(apps.map((app) => h.conn.createApp(app)));
      const refs = await Promise.all(apps.map(async (app) => ({ app, ...(await h.conn.upload(app, bundle(`I am ${app}`), { promote: true, autoRollback: true })) })));
      const statuses = await settleAll(h.conn, refs, 270_000);
      const events = eventLog(h.stateDir);
      // A failure names its app, its outcome and what the pipeline said of it.
      const failed = refs
        .filter((r) => statuses.get(r.name)?.status !== 'SUCCEEDED')
        .map((r) => ({ app: r.app, error: statuses.get(r.name)?.error, reasons: events.filter((e) => e.detail.execution === r.name && e.detail.reason).map((e) => `${e['detail-type']}: ${e.detail.reason ?? ''}`) }));
      expect(failed).toEqual([]);
      for (const ref of refs) expect(events.filter((e) => e.detail.execution === ref.name && e['detail-type'] === 'Deployment Succeeded'), ref.app).toHaveLength(1);

      const answers = await Promise.all(apps.map(async (app) => ({ app, ...(await getVia(h.rack.router.port, `web.${app}.localhost`)) })));
      expect(answers).toEqual(apps.map((app) => ({ app, status: 200, body: `I am ${app}` })));

      // Every app runs exactly its one process, each on its own port.
      const processes = apps.flatMap((app) => h.rack.runtime.processes(app).map((p) => ({ app, ...p })));
      expect(processes.filter((p) => p.phase === 'running' && p.ready).map((p) => p.app).sort()).toEqual(apps);
      const pids = processes.flatMap((p) => (p.pid ? [p.pid] : []));
      expect(pids).toHaveLength(50);
      expect(new Set(processes.map((p) => p.port)).size).toBe(50);
      expect(pids.every(processAlive)).toBe(true);

      await Promise.all(apps.map((app) => h.conn.deleteApp(app)));
      expect(await h.conn.apps()).toEqual([]);
      for (const app of apps) expect(h.rack.runtime.processes(app), app).toEqual([]);
      // A process is gone once it has exited (a stopped process resolves only after its exit).
      expect(pids.filter(processAlive)).toEqual([]);
      // The runtime's registry of live processes (what a restarted rack would kill) is empty too.
      await expect.poll(() => JSON.parse(readFileSync(join(h.stateDir, 'runtime', 'pids.json'), 'utf8')) as number[]).toEqual([]);
      expect((await getVia(h.rack.router.port, `web.${apps[0] ?? ''}.localhost`)).status).toBe(404);
    } finally {
      await h.stop();
    }
  }, 300_000);

  it('a waiting upload that looks again only after a newer upload took the lock is superseded, not deployed over it (Deploy steps on a file record store)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-queue-race-'));
    try {
      const table = new FileRecordTable(join(dir, 'records'));
      const store = new ReleaseStore(table);
      const events: SlipwayEvent[] = [];
      const ctx: DeployContext = {
        store,
        bundles: new DirBundleStore(join(dir, 'bundles')),
        builder: new BuilderDouble(),
        provisioner: new ProvisionerDouble(),
        runtime: new RuntimeDouble(),
        env: new RecordEnvStore(table),
        scheduler: new SchedulerDouble(),
        alarms: new AlarmsDouble(),
        events: new EventPublisher({ put: (batch) => Promise.resolve(void events.push(...batch)) }),
        clock: systemClock,
        workDir: join(dir, 'work'),
      };
      const state = (execution: string): DeployState => ({
        config: LOCAL_DEPLOY_CONFIG,
        execution,
        deploy: { app: 'shop', bundle: { app: 'shop', key: 'apps/shop/bundles/app.tgz', version: execution, etag: 'e', size: 1 }, autoRollback: true, promote: true },
      });
      await store.createApp('shop');
      // Deploy A runs; upload X (older) queues behind it and waits.
      const a = await store.acquireLock('shop', 'deploy-a', 60_000);
      await store.enqueueDeploy('shop', 'deploy-x', '2026-11-28T12:00:00.000Z|01');
      expect(await acquireLock(state('deploy-x'), ctx)).toMatchObject({ status: 'waiting' });
      // A finishes while X sleeps between tries; upload Y (newer) arrives and takes the free lock at once.
      if (a) await store.releaseLock(a);
      await store.enqueueDeploy('shop', 'deploy-y', '2026-11-28T12:00:01.000Z|02');
      expect(await acquireLock(state('deploy-y'), ctx)).toMatchObject({ status: 'acquired' });
      // Y has left the queue; X looks again and must not wait to deploy its older bundle after Y.
      expect(await acquireLock({ ...state('deploy-x'), lock: { status: 'waiting', queuedEmitted: true } }, ctx)).toEqual({ status: 'superseded' });
      expect(events.filter((e) => e.detail.execution === 'deploy-x').map((e) => e['detail-type'])).toEqual(['Deployment Queued', 'Deployment Superseded']);
      expect(await store.deployQueue('shop')).toEqual([]);

      // An upload whose event arrives after a newer one already ran is stale from the start.
      await store.enqueueDeploy('shop', 'deploy-w', '2026-11-28T11:59:59.000Z|00');
      expect(await acquireLock(state('deploy-w'), ctx)).toEqual({ status: 'superseded' });
      expect(await store.deployQueue('shop')).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

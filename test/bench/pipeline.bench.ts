/**
 * The local rack's deploy pipeline, end to end: real builds on the host, real processes behind
 * the router, PostgreSQL and Redis for the e-commerce example, the synthesized state machines on
 * the local runner, with the settings `npm start` uses. Three questions:
 *
 * - What does the pipeline itself add to a deploy of the e-commerce example, beyond the build
 *   commands (the Dockerfiles' RUN steps) and the apps' own start-up?
 * - How much does a deploy where one service of five changed save over one where all five did?
 * - How long does a rollback (no build) take next to a deploy of the same app?
 */
import { randomBytes } from 'node:crypto';
import { packDirectory } from '../../lib/pipeline/bundle/pack';
import { getVia } from '../support/router-get';
import type { BenchContext, BenchSuite, Figure } from './harness';
import { figure, median, ratios } from './harness';
import { copyEcommerce, FIVE_SERVICES, revise, writeFiveServiceApp } from './pipeline/apps';
import type { Measured, Rig } from './pipeline/rig';
import { measuredDeploy, measuredRollback, PipelineBenchError, startRig, timeline } from './pipeline/rig';

/** About 9 minutes on the 2-core development machine (544 s while other work loaded it), half of it the e-commerce deploys. */
const DEFAULT_RUNS = 5;
const ECOMMERCE = 'ecommerce';
const FIVE = 'bench-five';

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function servicesOf(m: Measured, type: 'Build Started' | 'Build Reused'): string[] {
  return m.events.filter((e) => e.event['detail-type'] === type).map((e) => e.event.detail.service ?? '?').sort();
}

/** The release the deploy created is the one applied, and the router's answer comes from one of its processes. */
async function checkServing(rig: Rig, app: string, m: Measured, host: string, path: string, expect: (body: string) => boolean): Promise<void> {
  const applied = rig.rack.runtime.applied(app).release;
  const answer = await getVia(rig.rack.router.port, host, path);
  if (applied !== m.release || answer.status !== 200 || !expect(answer.body)) {
    throw new PipelineBenchError(`${app} does not serve release ${m.release} after it succeeded (applied: ${applied ?? 'none'}, ${host}${path}: HTTP ${answer.status})`, { app, release: m.release });
  }
}

/** Values the example needs, as `npm start` gives them: a test Stripe key and a fresh encryption key. */
function exampleEnv(): Record<string, string> {
  return { STRIPE_KEY: 'sk_test_slipway_local_demo', PAYMENT_ENCRYPTION_KEY: randomBytes(32).toString('hex') };
}

async function ecommerceFigures(ctx: BenchContext, runs: number): Promise<Figure[]> {
  const rig = await startRig(ECOMMERCE);
  try {
    const { dir, contexts } = await copyEcommerce(rig.appsDir);
    await rig.rack.createApp(ECOMMERCE);
    await rig.rack.changeEnv(ECOMMERCE, { set: exampleEnv() });
    ctx.progress('pipeline: e-commerce, first deploy (untimed: it provisions PostgreSQL and Redis)');
    const first = await measuredDeploy(rig, ECOMMERCE, (await packDirectory(dir)).bundle);
    ctx.progress(`pipeline: e-commerce, first deploy took ${seconds(first.totalMs)}`);
    const total: number[] = [];
    const build: number[] = [];
    const startUp: number[] = [];
    const overhead: number[] = [];
    for (let run = 1; run <= runs; run++) {
      // Every build context changes, so every service is built again (the builder caches by context hash).
      for (const context of contexts) await revise(context, `run ${run} ${randomBytes(4).toString('hex')}`);
      const { bundle } = await packDirectory(dir);
      const m = await measuredDeploy(rig, ECOMMERCE, bundle);
      const reused = servicesOf(m, 'Build Reused');
      if (reused.length > 0 || servicesOf(m, 'Build Started').length !== contexts.length) {
        throw new PipelineBenchError(`e-commerce run ${run} should have built all ${contexts.length} services; it built ${servicesOf(m, 'Build Started').join(', ')} and reused ${reused.join(', ') || 'none'}`);
      }
      await checkServing(rig, ECOMMERCE, m, `web.${ECOMMERCE}.localhost`, '/health', () => true);
      total.push(m.totalMs);
      build.push(m.buildMs);
      startUp.push(m.startUpMs);
      overhead.push(m.totalMs - m.busyMs);
      ctx.progress(`pipeline: e-commerce deploy ${run}/${runs}: ${seconds(m.totalMs)} total, ${seconds(m.buildMs)} build commands, ${seconds(m.startUpMs)} start-up, ${seconds(m.totalMs - m.busyMs)} overhead`);
      ctx.progress(`  ${timeline(m)}`);
    }
    const what = 'a deploy of the e-commerce example (5 services, 6 processes, PostgreSQL and Redis up) in which every build context changed';
    return [
      figure('pipeline: overhead, e-commerce deploy', 'ms', overhead, `${what}: total minus the time any build's RUN steps ran minus the time any new process was between spawn and its first passing health check`),
      figure('pipeline: e-commerce deploy, total', 'ms', total, `${what}: from handing the bundle to the rack's bundle store until the Deploy execution succeeded (Deployment Succeeded: promoted and serving)`),
      figure('pipeline: e-commerce deploy, build commands', 'ms', build, `${what}: time during which at least one build's RUN step (npm ci) ran; up to 2 builds run at once`),
      figure('pipeline: e-commerce deploy, start-up', 'ms', startUp, `${what}: time during which at least one new process was between spawn and its first passing health check (includes the health check's grace, 5 s by default)`),
    ];
  } finally {
    await rig.stop();
  }
}

async function fiveServiceFigures(ctx: BenchContext, runs: number): Promise<Figure[]> {
  const rig = await startRig(FIVE);
  try {
    const { dir, contexts } = await writeFiveServiceApp(rig.appsDir, FIVE);
    await rig.rack.createApp(FIVE);
    const deploy = async (changed: readonly string[], label: string): Promise<Measured> => {
      for (const service of changed) await revise(contexts[service] ?? '', `${label} ${randomBytes(4).toString('hex')}`);
      const m = await measuredDeploy(rig, FIVE, (await packDirectory(dir)).bundle);
      const built = servicesOf(m, 'Build Started');
      if (built.join(',') !== [...changed].sort().join(',')) throw new PipelineBenchError(`the ${label} deploy should have built ${changed.join(', ')}; it built ${built.join(', ') || 'nothing'}`);
      await checkServing(rig, FIVE, m, `svc-1.${FIVE}.localhost`, '/', (body) => body.startsWith(`svc-1 ${m.release} `));
      return m;
    };
    ctx.progress('pipeline: five services, first deploy (untimed)');
    await deploy(FIVE_SERVICES, 'first');
    const incremental: number[] = [];
    const full: number[] = [];
    const rollback: number[] = [];
    for (let round = 1; round <= runs; round++) {
      // Alternate which goes first, so neither always follows the rollback.
      const order = round % 2 === 1 ? (['incremental', 'full'] as const) : (['full', 'incremental'] as const);
      for (const kind of order) {
        const m = kind === 'incremental' ? await deploy(['svc-1'], `round ${round} incremental`) : await deploy(FIVE_SERVICES, `round ${round} full`);
        (kind === 'incremental' ? incremental : full).push(m.totalMs);
        ctx.progress(`pipeline: five services, ${kind} deploy ${round}/${runs}: ${seconds(m.totalMs)} (${seconds(m.buildMs)} build commands, ${seconds(m.startUpMs)} start-up)`);
      }
      const r = await measuredRollback(rig, FIVE);
      await checkServing(rig, FIVE, r, `svc-1.${FIVE}.localhost`, '/', (body) => body.startsWith(`svc-1 ${r.release} `));
      rollback.push(r.totalMs);
      ctx.progress(`pipeline: five services, rollback ${round}/${runs}: ${seconds(r.totalMs)} (${seconds(r.startUpMs)} start-up)`);
    }
    ctx.progress(`pipeline: five services, medians: incremental ${seconds(median(incremental))}, full ${seconds(median(full))}, rollback ${seconds(median(rollback))}`);
    const app = 'a generated app of 5 small Node services (Dockerfile: COPY package*.json, RUN npm ci with no dependencies, COPY . .; health checks at the defaults)';
    return [
      figure('pipeline: incremental / full deploy', 'ratio', ratios(incremental, full), `each round: the incremental deploy's time over the full deploy's, ${app}`),
      figure('pipeline: incremental deploy, 1 of 5 services changed', 'ms', incremental, `${app}: one service's build context changed (1 build, 4 reused); from handing over the bundle until the Deploy execution succeeded`),
      figure('pipeline: full deploy, 5 of 5 services changed', 'ms', full, `${app}: every build context changed (5 builds); from handing over the bundle until the Deploy execution succeeded`),
      figure('pipeline: rollback / deploy', 'ratio', ratios(rollback, full), 'each round: the rollback\u2019s time over the same round\u2019s full deploy; both replace the processes of all 5 services'),
      figure('pipeline: rollback, 5 services', 'ms', rollback, `${app}: a console rollback to the previous release through the Rollback machine (no build: checked), until it succeeded; then unpinned, untimed`),
    ];
  } finally {
    await rig.stop();
  }
}

export const pipelineSuite: BenchSuite = {
  name: 'pipeline',
  description: 'the local rack\u2019s deploy pipeline: its overhead on an e-commerce deploy, incremental against full deploys, rollback against deploy',
  async run(ctx) {
    const runs = ctx.runs(DEFAULT_RUNS);
    return [...(await ecommerceFigures(ctx, runs)), ...(await fiveServiceFigures(ctx, runs))];
  },
};

/**
 * `deploy`, `build` and `test`: pack the folder (honouring `.dockerignore`, the same folder always
 * packing to the same bytes), upload it with a progress bar, and follow the pipeline it starts.
 *
 * Exit codes, for scripts and CI: 0 deployed (or built, or tests passed), 1 failed with nothing
 * changed, 3 the pipeline rolled the release back. `--id` prints only the release id on stdout;
 * everything else goes to stderr then.
 */
import { resolve } from 'node:path';
import { SlipwayError } from '../../errors';
import { loadManifest } from '../../manifest';
import { packDirectory } from '../../pipeline/bundle/pack';
import type { CliIO } from '../io';
import { CommandFailed } from '../io';
import type { FollowOutput, FollowResult } from '../follow';
import { failureReason, followExecution, lastLogLines } from '../follow';
import { mib, progressBar } from '../progress';
import type { ExecutionRef, RackConnection } from '../racks/rack-connection';
import type { AppFlags } from './target';
import { appTarget } from './target';
import { followJob } from './run';

export const EXIT_FAILED = 1;
export const EXIT_ROLLED_BACK = 3;

export interface DeployFlags extends AppFlags {
  readonly dir: string;
  readonly wait: boolean;
  readonly autoRollback: boolean;
  readonly id: boolean;
  readonly description?: string;
}

async function packAndUpload(io: CliIO, rack: RackConnection, app: string, flags: DeployFlags, promote: boolean, log: FollowOutput): Promise<ExecutionRef> {
  const dir = resolve(io.cwd, flags.dir);
  log.write(`Packaging source from ${dir}... `);
  const { bundle, files } = await packDirectory(dir);
  log.write(`OK (${files} files, ${mib(bundle.length)})\n`);
  const bar = progressBar(io.stderr, 'Uploading source');
  const uploaded = await rack.upload(app, bundle, { promote, autoRollback: flags.autoRollback, ...(flags.description ? { description: flags.description } : {}), onProgress: (sent, total) => bar.update(sent, total) });
  bar.done(bundle.length);
  log.write(`Uploaded ${uploaded.key} (version ${uploaded.version}); pipeline run ${uploaded.name}\n`);
  return uploaded;
}

/**
 * Whether the pipeline put the previous release back: a deploy that failed after its rollout
 * began, or a promotion (promote, env --promote, scale, cancel) whose rollout failed. One that
 * failed before rolling anything out changed nothing.
 */
export function rolledBack(result: FollowResult): boolean {
  if (result.status.error === 'DeploymentRolledBack') return true;
  return result.status.error === 'PromotionFailed' && result.events.some((e) => e['detail-type'] === 'Rollout Started');
}

/** The exit code of a failed run: 3 when the pipeline rolled back, else 1. */
export function failedExitCode(result: FollowResult): number {
  return rolledBack(result) ? EXIT_ROLLED_BACK : EXIT_FAILED;
}

/** Print why a run failed: the reason the pipeline found, and the failing service's last log lines. */
export async function reportFailure(io: CliIO, rack: RackConnection, app: string, result: FollowResult, what: string): Promise<void> {
  const { reason, service, release } = failureReason(result);
  io.stderr.write(`error: ${what} failed${rolledBack(result) ? ' and was rolled back: the previous release serves' : ''}\n  reason: ${reason}\n`);
  if (!service) return;
  const since = Date.parse(result.status.startedAt ?? '') || Date.now() - 3_600_000;
  const lines = await lastLogLines(rack, app, { service, since, ...(release ? { release } : {}) });
  if (lines.length === 0) return;
  io.stderr.write(`  last log lines of ${service}:\n`);
  for (const line of lines) io.stderr.write(`    ${line.time.slice(11, 19)} ${line.process} ${line.text}\n`);
}

export async function deployCommand(io: CliIO, flags: DeployFlags): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  const log = flags.id ? io.stderr : io.stdout;
  const execution = await packAndUpload(io, rack, app, flags, true, log);
  if (!flags.wait) return;
  const result = await followExecution(rack, app, execution, log, { buildOutput: true });
  const promoted = result.events.find((e) => e['detail-type'] === 'Deployment Succeeded')?.detail.release;
  if (result.status.status === 'SUCCEEDED' && promoted) {
    if (flags.id) io.stdout.write(`${promoted}\n`);
    else io.stdout.write(`Release: ${promoted}\nDeployed ${app}: release ${promoted} serves\n`);
    return;
  }
  if (result.status.status === 'SUCCEEDED') {
    io.stderr.write('error: this upload was superseded by a newer one of the same app, which deploys instead\n');
    throw new CommandFailed(EXIT_FAILED);
  }
  await reportFailure(io, rack, app, result, 'deploy');
  throw new CommandFailed(failedExitCode(result));
}

/** Build and create a release without promoting it; returns the build and release ids. */
async function buildRelease(io: CliIO, rack: RackConnection, app: string, flags: DeployFlags, log: FollowOutput): Promise<{ build: string; release: string }> {
  const execution = await packAndUpload(io, rack, app, flags, false, log);
  const result = await followExecution(rack, app, execution, log, { buildOutput: true });
  const created = result.events.find((e) => e['detail-type'] === 'Release Created');
  if (result.status.status === 'SUCCEEDED' && created?.detail.release) return { build: created.detail.build ?? '', release: created.detail.release };
  if (result.status.status === 'SUCCEEDED') {
    io.stderr.write('error: this upload was superseded by a newer one of the same app\n');
    throw new CommandFailed(EXIT_FAILED);
  }
  await reportFailure(io, rack, app, result, 'build');
  throw new CommandFailed(EXIT_FAILED);
}

export async function buildCommand(io: CliIO, flags: DeployFlags): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  const log = flags.id ? io.stderr : io.stdout;
  if (!flags.wait) {
    await packAndUpload(io, rack, app, flags, false, log);
    return;
  }
  const { build, release } = await buildRelease(io, rack, app, flags, log);
  if (flags.id) io.stdout.write(`${release}\n`);
  else io.stdout.write(`Build: ${build}\nRelease: ${release}\n`);
}

/**
 * `test`: build a release without promoting it, then run each service's `test` command as a
 * one-off job on it, in manifest order; the first failure stops the run with exit 1.
 */
export async function testCommand(io: CliIO, flags: DeployFlags & { release?: string }): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  const release = flags.release ?? (await buildRelease(io, rack, app, flags, io.stdout)).release;
  const { manifest: text } = await rack.release(app, release);
  if (!text) throw new SlipwayError(`no build for release: ${release} (its convox.yml is gone)`, 'NOT_FOUND', { app, release });
  const { values } = await rack.env(app, release);
  const services = loadManifest(text, { env: values }).manifest.services.filter((s) => s.test);
  if (services.length === 0) {
    io.stdout.write(`no service of release ${release} has a test command\n`);
    return;
  }
  for (const service of services) {
    const command = service.test ?? '';
    io.stdout.write(`Running ${service.name}: ${command}\n`);
    const ok = await followJob(io, rack, app, { service: service.name, command, release });
    if (!ok) {
      io.stderr.write(`error: the tests of ${service.name} failed\n`);
      throw new CommandFailed(EXIT_FAILED);
    }
  }
  io.stdout.write(`Tests passed on release ${release}\n`);
}

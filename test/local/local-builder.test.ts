/** The local builder: real builds of real folders, without Docker. */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type BuildOutputLine, LocalBuilder, RACK_STOPPED } from '../../lib/local/builder/local-builder';
import { readLocalImage } from '../../lib/local/image';
import { hashBuildContext } from '../../lib/pipeline/build/context';
import { newBuildId } from '../../lib/pipeline/domain/ids';
import type { BuildRequest, BuildState } from '../../lib/pipeline/ports/runtime';
import { fileTrees } from '../support/file-tree';

const root = mkdtempSync(join(tmpdir(), 'slipway-local-builder-'));

const bundle = fileTrees('slipway-local-builder-bundles-');

async function request(dir: string, args: string[] = [], app = 'demo'): Promise<BuildRequest> {
  const settings = { path: '.', manifest: 'Dockerfile', args };
  const context = await hashBuildContext(dir, settings);
  return {
    app,
    build: newBuildId(),
    unit: { contextHash: context.hash, ...settings, services: ['web', 'worker'], files: context.files, bytes: context.bytes },
    bundle: { app, key: `${app}/bundle.tgz`, version: 'v1', etag: 'e', size: 0 },
    bundleDir: dir,
  };
}

function setup(maxParallel?: number): { builder: LocalBuilder; stateDir: string; output: BuildOutputLine[] } {
  const stateDir = mkdtempSync(join(root, 'state-'));
  const output: BuildOutputLine[] = [];
  return { builder: new LocalBuilder({ stateDir, onOutput: (line) => output.push(line), ...(maxParallel ? { maxParallel } : {}) }), stateDir, output };
}

async function finished(builder: LocalBuilder, ref: string): Promise<BuildState> {
  for (;;) {
    const state = await builder.status(ref);
    if (state.state !== 'running') return state;
    await sleep(20);
  }
}

async function build(builder: LocalBuilder, req: BuildRequest): Promise<BuildState> {
  return finished(builder, (await builder.start(req)).ref);
}

async function built(builder: LocalBuilder, req: BuildRequest): Promise<string> {
  const state = await build(builder, req);
  if (state.state !== 'succeeded') throw new Error(`expected a build, got ${JSON.stringify(state)}`);
  return state.image;
}

async function failed(builder: LocalBuilder, req: BuildRequest): Promise<string> {
  const state = await build(builder, req);
  if (state.state !== 'failed') throw new Error(`expected a failure, got ${JSON.stringify(state)}`);
  return state.reason;
}

const MULTI_STAGE = `# syntax=docker/dockerfile:1
ARG GREETING=hello
FROM node:20 AS build
ARG GREETING
ARG TOKEN
ENV MODE=production
WORKDIR /src
COPY . .
RUN mkdir -p dist && echo "$GREETING $MODE $TOKEN" > dist/out.txt && cp app.js dist/ && pwd > dist/pwd.txt
RUN echo "token is $TOKEN" && echo to-stderr >&2
RUN test ! -e notes.txt

FROM unused:1 AS never-built
RUN exit 1

FROM node:20-slim
WORKDIR /app
ENV PORT=3000 NODE_ENV=production
COPY --from=build /src/dist/ ./
COPY package*.json ./
EXPOSE 3000
CMD node app.js
`;

const APP = { Dockerfile: MULTI_STAGE, 'app.js': 'console.log(1)\n', 'notes.txt': 'ignored\n', 'package.json': '{}\n', 'package-lock.json': '{}\n', '.dockerignore': 'notes.txt\n' };

describe('LocalBuilder', () => {
  it('builds a multi-stage Dockerfile into a local image', async () => {
    const { builder, stateDir, output } = setup();
    const req = await request(bundle(APP), ['TOKEN=s3cret-token']);
    const { ref } = await builder.start(req);
    const state = await finished(builder, ref);
    const image = join(stateDir, 'images', 'demo', req.unit.contextHash);
    expect(state).toEqual({ state: 'succeeded', image });
    expect(existsSync(join(stateDir, 'work', ref))).toBe(false);

    const config = await readLocalImage(image);
    expect(config).toMatchObject({
      version: 1,
      workdir: '/app',
      env: { PORT: '3000', NODE_ENV: 'production' },
      entrypoint: [],
      cmd: ['/bin/sh', '-c', 'node app.js'],
      expose: [3000],
      contextHash: req.unit.contextHash,
    });
    expect(readFileSync(join(config.root, 'app/out.txt'), 'utf8')).toBe('hello production s3cret-token\n');
    expect(readFileSync(join(config.root, 'app/pwd.txt'), 'utf8').trim()).toMatch(/\/stages\/0\/src$/);
    for (const file of ['app.js', 'package.json', 'package-lock.json']) expect(existsSync(join(config.root, 'app', file))).toBe(true);
    expect(existsSync(join(config.root, 'src'))).toBe(false);

    const texts = output.map((o) => `${o.stream} ${o.text}`);
    expect(texts).toContain('stdout token is ****');
    expect(texts).toContain('stderr to-stderr');
    expect(texts).toContain("step node:20: the host's toolchain stands in for the base image");
    expect(texts.some((t) => t.includes('exit 1'))).toBe(false);
    expect(texts.join('\n')).not.toContain('s3cret-token');
    expect(output.every((o) => o.app === 'demo' && o.build === req.build && o.services.join() === 'web,worker')).toBe(true);
    const log = readFileSync(join(stateDir, 'logs', 'builds', `${req.build}.log`), 'utf8');
    expect(log).toContain('[web,worker] token is ****');
    expect(log).not.toContain('s3cret-token');
  });

  it('reuses the image of a context it built before', async () => {
    const { builder, output } = setup();
    const dir = bundle({ Dockerfile: 'FROM x\nRUN echo built > stamp\n' });
    const first = await built(builder, await request(dir));
    const again = await request(dir);
    const { ref } = await builder.start(again);
    expect(await builder.status(ref)).toEqual({ state: 'succeeded', image: first });
    expect(output.filter((o) => o.build === again.build).map((o) => o.text)).toEqual([expect.stringContaining('cached') as string]);
  });

  it('fails a build whose RUN fails, naming the line and quoting the output without build-arg values', async () => {
    const { builder } = setup();
    const dir = bundle({ Dockerfile: 'FROM x\nARG TOKEN\nRUN echo before\nRUN echo "about to fail with $TOKEN" && exit 3\nRUN echo never\n' });
    const reason = await failed(builder, await request(dir, ['TOKEN=supersecret']));
    expect(reason).toContain('Dockerfile line 4 (RUN echo "about to fail with $TOKEN" && exit 3): exited with code 3');
    expect(reason).toContain('about to fail with ****');
    expect(reason).not.toContain('supersecret');
    expect(reason).not.toContain('never');
  });

  it('runs with HOME and PATH entries the Dockerfile sets inside the stage', async () => {
    const { builder } = setup();
    const dir = bundle({ Dockerfile: 'FROM x\nENV HOME=/home/app PATH=/app/bin:$PATH\nCOPY tool /app/bin/\nRUN tool > out && touch ~/.rc\n', tool: '#!/bin/sh\necho from-tool\n' });
    chmodSync(join(dir, 'tool'), 0o755);
    const fs = join(await built(builder, await request(dir)), 'rootfs');
    expect(readFileSync(join(fs, 'out'), 'utf8')).toBe('from-tool\n');
    expect(existsSync(join(fs, 'home/app/.rc'))).toBe(true);
  });

  it('gives bare build args their value from the app environment', async () => {
    const stateDir = mkdtempSync(join(root, 'state-'));
    const builder = new LocalBuilder({ stateDir, appEnv: (app) => Promise.resolve({ NPM_TOKEN: `token-of-${app}` }) });
    const image = await built(builder, await request(bundle({ Dockerfile: 'FROM x\nARG NPM_TOKEN\nRUN echo "$NPM_TOKEN" > token\n' }), ['NPM_TOKEN']));
    expect(readFileSync(join(image, 'rootfs', 'token'), 'utf8')).toBe('token-of-demo\n');
  });

  it('refuses COPY from outside the build context, and links leading out of it', async () => {
    const { builder } = setup();
    expect(await failed(builder, await request(bundle({ Dockerfile: 'FROM x\nCOPY ../x /app/\n' })))).toBe('Dockerfile line 2: COPY source ../x is outside the build context');

    // Links resolve inside the context, as in a chroot: these name <context>/etc/hostname.
    const dir = bundle({ Dockerfile: 'FROM x\nCOPY host-etc/hostname up/etc/hostname /copied/\n' });
    symlinkSync('/etc', join(dir, 'host-etc'));
    symlinkSync('../../..', join(dir, 'up'));
    expect(await failed(builder, await request(dir))).toBe('Dockerfile line 2 (COPY host-etc/hostname up/etc/hostname /copied/): host-etc/hostname was not found in the build context');
  });

  it('never writes outside the stage through a link', async () => {
    const { builder } = setup();
    const outside = mkdtempSync(join(root, 'outside-'));
    const dir = bundle({ Dockerfile: `FROM x\nRUN ln -s ${outside} escape && ln -s ${outside}/file.txt direct\nCOPY a.txt escape/\nCOPY a.txt /direct\n`, 'a.txt': 'a\n' });
    const image = await built(builder, await request(dir));
    expect(existsSync(join(outside, 'a.txt'))).toBe(false);
    expect(existsSync(join(outside, 'file.txt'))).toBe(false);
    expect(readFileSync(join(image, 'rootfs', outside, 'a.txt'), 'utf8')).toBe('a\n');
    expect(readFileSync(join(image, 'rootfs', 'direct'), 'utf8')).toBe('a\n');
  });

  it('copies with Docker semantics: folder contents, wildcards, folder destinations, ADD archives', async () => {
    const { builder } = setup();
    const dir = bundle({
      Dockerfile: 'FROM x\nWORKDIR /app\nCOPY src lib/\nCOPY *.js ./\nCOPY one.js renamed.js\nCOPY --chmod=700 one.js /bin/tool\nADD files.tgz /opt/\nADD one.js /opt/\n',
      'src/a/b.txt': 'b\n',
      'one.js': '1\n',
      'two.js': '2\n',
      'pack/inside.txt': 'packed\n',
    });
    execFileSync('tar', ['-czf', join(dir, 'files.tgz'), '-C', join(dir, 'pack'), '.']);
    const fs = join(await built(builder, await request(dir)), 'rootfs');
    expect(readFileSync(join(fs, 'app/lib/a/b.txt'), 'utf8')).toBe('b\n');
    for (const file of ['app/one.js', 'app/two.js', 'app/renamed.js', 'opt/inside.txt', 'opt/one.js']) expect(existsSync(join(fs, file))).toBe(true);
    expect(existsSync(join(fs, 'opt/files.tgz'))).toBe(false);
    expect(statSync(join(fs, 'bin/tool')).mode & 0o777).toBe(0o700);

    expect(await failed(builder, await request(bundle({ Dockerfile: 'FROM x\nCOPY *.js /app/one.js\n', 'a.js': '', 'b.js': '' })))).toContain(
      'Dockerfile line 2 (COPY *.js /app/one.js): the sources match 2 paths: the destination must end in /',
    );
  });

  it('answers for its builds after a restart; a build cut off by the restart has failed', async () => {
    const { builder, stateDir } = setup();
    const req = await request(bundle({ Dockerfile: 'FROM x\nRUN echo ok > ok\n' }));
    const { ref } = await builder.start(req);
    const state = await finished(builder, ref);

    const restarted = new LocalBuilder({ stateDir });
    expect(await restarted.status(ref)).toEqual(state);
    const record = JSON.parse(readFileSync(join(stateDir, 'builds', `${ref}.json`), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(stateDir, 'builds', 'BCUTOFFBYRE-0123456789ab.json'), JSON.stringify({ ...record, ref: 'BCUTOFFBYRE-0123456789ab', state: { state: 'running' } }));
    expect(await restarted.status('BCUTOFFBYRE-0123456789ab')).toEqual({ state: 'failed', reason: RACK_STOPPED });
    expect(await restarted.status('BUNKNOWNREF-0123456789ab')).toMatchObject({ state: 'failed' });
    expect(await restarted.status('../../etc/passwd')).toMatchObject({ state: 'failed' });
  });

  it('queues builds beyond maxParallel and finishes them all', async () => {
    const { builder } = setup(1);
    const requests = await Promise.all([1, 2, 3].map((i) => request(bundle({ Dockerfile: `FROM x\nRUN echo ${i} > n\n` }))));
    const refs = await Promise.all(requests.map((r) => builder.start(r)));
    await builder.idle();
    for (const [i, { ref }] of refs.entries()) {
      const state = await builder.status(ref);
      expect(state.state).toBe('succeeded');
      if (state.state === 'succeeded') expect(readFileSync(join(state.image, 'rootfs', 'n'), 'utf8')).toBe(`${i + 1}\n`);
    }
  });

  it('deletes only images of the app it is asked about', async () => {
    const { builder, stateDir } = setup();
    const image = await built(builder, await request(bundle({ Dockerfile: 'FROM x\nRUN echo > f\n' })));
    const hash = image.split('/').at(-1) ?? '';
    const elsewhere = join(root, 'elsewhere', hash);
    const otherApp = join(stateDir, 'images', 'other', hash);
    for (const dir of [elsewhere, otherApp]) mkdirSync(dir, { recursive: true });
    await builder.deleteImages('demo', [image, elsewhere, otherApp, 'nginx:1.27', join(stateDir, 'images', 'demo', '..', 'other', hash)]);
    expect(existsSync(image)).toBe(false);
    expect(existsSync(elsewhere)).toBe(true);
    expect(existsSync(otherApp)).toBe(true);
  });
});

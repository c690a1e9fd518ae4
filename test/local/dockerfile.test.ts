/** The local builder's Dockerfile parser: every instruction and form, Docker's substitution rules, errors that name the line. */
import { describe, expect, it } from 'vitest';
import { DockerfileError, parseDockerfile, resolveBuildArgs, stagesToBuild, type CopyStep, type ParseOptions, type RunStep, type Stage } from '../../lib/local/builder/dockerfile';

function stages(text: string, options: ParseOptions = {}): readonly Stage[] {
  return parseDockerfile(text, options).stages;
}

function last(text: string, options: ParseOptions = {}): Stage {
  const all = stages(text, options);
  const stage = all[all.length - 1];
  if (!stage) throw new Error('no stage');
  return stage;
}

function runs(text: string, options: ParseOptions = {}): RunStep[] {
  return last(text, options).steps.filter((s): s is RunStep => s.kind === 'run');
}

function copies(text: string, options: ParseOptions = {}): CopyStep[] {
  return last(text, options).steps.filter((s): s is CopyStep => s.kind === 'copy');
}

function parseError(text: string, options: ParseOptions = {}): DockerfileError {
  try {
    parseDockerfile(text, options);
  } catch (e) {
    if (e instanceof DockerfileError) return e;
    throw e;
  }
  throw new Error('expected a DockerfileError');
}

describe('lines', () => {
  it('joins continuations, drops comments (also inside continuations) and ignores parser directives', () => {
    const [run] = runs('# syntax=docker/dockerfile:1\n# a comment\nFROM node:20\n\nRUN echo one && \\\n# inside\n\n    echo two \\  \n  && echo three\n');
    expect(run?.argv).toEqual(['/bin/sh', '-c', 'echo one &&     echo two   && echo three']);
    expect(run?.line).toBe(5);
  });

  it('reads instructions case-insensitively', () => {
    const stage = last('from node:20 as Build\nrun make\nworkdir /app\n');
    expect(stage.name).toBe('build');
    expect(stage.steps.map((s) => s.kind)).toEqual(['run', 'workdir']);
  });

  it('honours the escape directive', () => {
    const stage = last('# escape=`\nFROM x\nRUN echo a `\n  b\nWORKDIR C:\\app\n');
    expect((stage.steps[0] as RunStep).argv[2]).toBe('echo a   b');
    expect(stage.settings.workdir).toBe('/C:\\app');
  });

  it('reads RUN heredocs: alone they are the script, after a command the shell reads them', () => {
    const [script, fed] = runs('FROM x\nRUN <<EOF\necho a\necho b\nEOF\nRUN python3 <<-PY\n\tprint(1)\n\tPY\nRUN echo after\n');
    expect(script?.argv).toEqual(['/bin/sh', '-c', 'echo a\necho b']);
    expect(fed?.argv).toEqual(['/bin/sh', '-c', 'python3 <<-PY\n\tprint(1)\n\tPY']);
    expect(runs('FROM x\nRUN <<EOF\necho a\nEOF\nRUN echo after\n').map((r) => r.line)).toEqual([2, 5]);
  });
});

describe('commands', () => {
  it('runs the shell form with /bin/sh -c and the exec form as given, unsubstituted', () => {
    const [shell, exec] = runs('FROM x\nENV NAME=world\nRUN echo $NAME\nRUN ["echo", "$NAME"]\n');
    expect(shell?.argv).toEqual(['/bin/sh', '-c', 'echo $NAME']);
    expect(exec?.argv).toEqual(['echo', '$NAME']);
  });

  it('treats a line that is not a JSON array of strings as the shell form', () => {
    expect(runs('FROM x\nRUN [ -f a ] && echo yes\n')[0]?.argv).toEqual(['/bin/sh', '-c', '[ -f a ] && echo yes']);
  });

  it('uses SHELL for RUN, CMD and ENTRYPOINT in shell form', () => {
    const stage = last('FROM x\nSHELL ["/bin/bash", "-eo", "pipefail", "-c"]\nRUN echo hi\nENTRYPOINT exec node\n');
    expect((stage.steps[0] as RunStep).argv).toEqual(['/bin/bash', '-eo', 'pipefail', '-c', 'echo hi']);
    expect(stage.settings.entrypoint).toEqual(['/bin/bash', '-eo', 'pipefail', '-c', 'exec node']);
  });

  it('stores CMD and ENTRYPOINT in exec form; ENTRYPOINT clears only an inherited CMD', () => {
    expect(last('FROM x\nCMD node server.js\n').settings.cmd).toEqual(['/bin/sh', '-c', 'node server.js']);
    expect(last('FROM x\nCMD ["node", "a.js"]\nENTRYPOINT ["tini", "--"]\n').settings).toMatchObject({ cmd: ['node', 'a.js'], entrypoint: ['tini', '--'] });
    const child = last('FROM x AS base\nCMD ["node"]\nFROM base\nENTRYPOINT ["tini"]\n');
    expect(child.settings).toMatchObject({ cmd: [], entrypoint: ['tini'] });
  });

  it('accepts RUN --mount=type=cache with a warning and refuses other mounts', () => {
    const parsed = parseDockerfile('FROM x\nRUN --mount=type=cache,target=/root/.npm npm ci\n');
    expect((parsed.stages[0]?.steps[0] as RunStep).argv).toEqual(['/bin/sh', '-c', 'npm ci']);
    expect(parsed.warnings).toEqual([{ line: 2, message: expect.stringContaining('type=cache is ignored') as string }]);
    expect(parseError('FROM x\nRUN --mount=type=secret,id=t cat /run/secrets/t\n').message).toContain('line 2: RUN --mount=type=secret is not supported');
  });

  it('gives RUN the ARGs in scope and the ENV, ENV winning', () => {
    const [run] = runs('ARG GLOBAL=g\nFROM x\nARG A=1\nARG B\nARG C=arg\nENV C=env D=d\nRUN env\n', { buildArgs: ['B=2'] });
    expect(run?.env).toEqual({ A: '1', B: '2', C: 'env', D: 'd' });
  });
});

describe('ARG and build args', () => {
  it('reads build args as KEY=VALUE or a bare KEY from the environment', () => {
    expect(resolveBuildArgs(['A=1', 'B=x=y', 'C', 'D'], { C: 'from-env' })).toEqual(
      new Map([
        ['A', '1'],
        ['B', 'x=y'],
        ['C', 'from-env'],
      ]),
    );
  });

  it('uses global ARGs in FROM, and in a stage only when declared again', () => {
    const all = stages('ARG BASE=node\nARG TAG\nFROM $BASE:${TAG:-20}\nRUN echo\nARG BASE\nENV SEEN=$BASE NOT=$TAG.\n');
    expect(all[0]?.from).toEqual({ image: 'node:20' });
    expect(all[0]?.settings.env).toEqual({ SEEN: 'node', NOT: '.' });
  });

  it('lets build args override defaults, warns of unused and empty ones, and fills predefined platform args', () => {
    const parsed = parseDockerfile('ARG V=1\nFROM img:$V\nARG V\nARG TARGETARCH\nARG MODE=dev\nENV V=$V ARCH=$TARGETARCH MODE=$MODE\n', {
      buildArgs: ['V=2', 'MODE', 'EXTRA=1', 'MISSING'],
      env: { MODE: 'prod' },
      predefinedArgs: { TARGETARCH: 'arm64' },
    });
    expect(parsed.stages[0]?.from).toEqual({ image: 'img:2' });
    expect(parsed.stages[0]?.settings.env).toEqual({ V: '2', ARCH: 'arm64', MODE: 'prod' });
    expect(parsed.warnings.map((w) => w.message)).toEqual(["build arg MISSING has no value in the app's environment", 'build arg EXTRA is not declared by any ARG']);
  });

  it('declares several ARGs at once, with quoted defaults', () => {
    expect(runs('FROM x\nARG A="one two" B=$A\nRUN env\n')[0]?.env).toEqual({ A: 'one two', B: 'one two' });
  });

  it('keeps ENV out of the scope of later stages built from other images, and ARGs out of inheritance', () => {
    const all = stages('FROM x AS one\nARG A=1\nENV E=1\nFROM one AS two\nENV F=$E$A\nFROM y\nENV G=$E\n');
    expect(all[1]?.settings.env).toEqual({ E: '1', F: '1' });
    expect(all[2]?.settings.env).toEqual({ G: '' });
  });
});

describe('ENV and substitution', () => {
  it('reads ENV pairs with quotes, and the legacy ENV KEY value', () => {
    expect(last('FROM x\nENV A=1 B="two words" C=\'$single\' D=a\\ b\nENV LEGACY value with spaces\n').settings.env).toEqual({
      A: '1',
      B: 'two words',
      C: '$single',
      D: 'a b',
      LEGACY: 'value with spaces',
    });
  });

  it('substitutes with values from before the instruction', () => {
    expect(last('FROM x\nENV A=old\nENV A=new B=$A\n').settings.env).toEqual({ A: 'new', B: 'old' });
  });

  it('knows $VAR, ${VAR}, defaults, alternatives and escapes', () => {
    const env = last(
      'FROM x\nENV SET=yes EMPTY=""\nENV A=$SET.${SET}x B=${UNSET:-def} C=${EMPTY:-def} D=${EMPTY-def} E=${SET:+alt} F=${UNSET:+alt} G=\\$SET H="$SET \\$SET" I=${UNSET:-${SET}} J=$ K=${EMPTY+alt}\n',
    ).settings.env;
    expect(env).toMatchObject({ A: 'yes.yesx', B: 'def', C: 'def', D: '', E: 'alt', F: '', G: '$SET', H: 'yes $SET', I: 'yes', J: '$', K: 'alt' });
  });

  it('fails ${VAR:?message} when unset, and unknown operators', () => {
    expect(parseError('FROM x\nWORKDIR ${DIR:?DIR must be set}\n').message).toBe('Dockerfile line 2: DIR: DIR must be set');
    expect(parseError('FROM x\nENV A=${B#x}\n').message).toContain('line 2: unsupported substitution');
  });

  it('expands $PATH from the base environment the host stands in for', () => {
    expect(last('FROM x\nENV PATH=/app/bin:$PATH\n', { baseEnv: { PATH: '/usr/bin' } }).settings.env).toEqual({ PATH: '/app/bin:/usr/bin' });
  });

  it('substitutes in WORKDIR, COPY, EXPOSE, USER and LABEL', () => {
    const stage = last('FROM x\nARG DIR=/srv PORT=8080 WHO=node\nWORKDIR $DIR/app\nCOPY ${DIR}.txt ./\nEXPOSE $PORT\nUSER $WHO\nLABEL "org.version"=$PORT\n');
    expect(stage.settings).toMatchObject({ workdir: '/srv/app', expose: [8080], user: 'node', labels: { 'org.version': '8080' } });
    expect(copies('FROM x\nARG S=a.txt\nCOPY $S /d/\n')[0]?.sources).toEqual(['a.txt']);
  });
});

describe('files', () => {
  it('resolves WORKDIR and COPY destinations against the working directory', () => {
    const stage = last('FROM x\nWORKDIR app\nWORKDIR sub\nCOPY a.js .\nCOPY b.js lib/\nCOPY c.js /abs/c.js\n');
    expect(stage.settings.workdir).toBe('/app/sub');
    expect(stage.steps.filter((s): s is CopyStep => s.kind === 'copy').map((c) => [c.dest, c.destIsDir])).toEqual([
      ['/app/sub', true],
      ['/app/sub/lib', true],
      ['/abs/c.js', false],
    ]);
  });

  it('reads COPY flags and the JSON form; --chown is ignored', () => {
    const [copy] = copies('FROM x AS build\nFROM y\nCOPY --from=build --chown=node:node --chmod=755 ["a b", "c", "/dest/"]\n');
    expect(copy).toMatchObject({ instruction: 'COPY', sources: ['a b', 'c'], dest: '/dest', destIsDir: true, from: 0, mode: 0o755 });
    expect(copies('FROM x\nFROM y\nCOPY --from=0 /a /b\n')[0]?.from).toBe(0);
  });

  it('refuses copying from an image, from itself, and from outside the context', () => {
    expect(parseError('FROM x\nCOPY --from=nginx:1 /etc/nginx /etc/\n').message).toContain('line 2: COPY --from=nginx:1 does not name an earlier stage');
    expect(parseError('FROM x AS self\nCOPY --from=self /a /b\n').line).toBe(2);
    expect(parseError('FROM x\nCOPY ../secret /app/\n').message).toBe('Dockerfile line 2: COPY source ../secret is outside the build context');
    expect(copies('FROM x\nCOPY /abs/../a.txt sub/../b /app/\n')[0]?.sources).toEqual(['/abs/../a.txt', 'sub/../b']);
  });

  it('needs a folder destination for several sources', () => {
    expect(parseError('FROM x\nCOPY a b /app\n').message).toContain('line 2: COPY with more than one source needs a destination ending in /');
    expect(parseError('FROM x\nCOPY a\n').message).toContain('needs a source and a destination');
  });

  it('takes ADD of local files and refuses URLs and --from', () => {
    expect(copies('FROM x\nADD app.tar.gz /opt/\n')[0]).toMatchObject({ instruction: 'ADD', sources: ['app.tar.gz'], dest: '/opt', destIsDir: true });
    expect(parseError('FROM x\nADD https://example.com/a.tgz /opt/\n').message).toContain('line 2: ADD of a URL (https://example.com/a.tgz) is not supported');
    expect(parseError('FROM x AS a\nFROM y\nADD --from=a /x /y\n').message).toContain('ADD --from is not supported');
  });
});

describe('stages and image settings', () => {
  it('starts a stage from an earlier one (inheriting its settings) or from an image', () => {
    const all = stages('FROM node:20 AS deps\nWORKDIR /app\nENV NODE_ENV=production\nEXPOSE 3000\nFROM DEPS AS test\nFROM node:20-slim\n');
    expect(all.map((s) => s.from)).toEqual([{ image: 'node:20' }, { stage: 0 }, { image: 'node:20-slim' }]);
    expect(all[1]?.settings).toMatchObject({ workdir: '/app', env: { NODE_ENV: 'production' }, expose: [3000] });
    expect(all[2]?.settings).toMatchObject({ workdir: '/', env: {}, expose: [] });
  });

  it('builds only the stages the last one needs', () => {
    const parsed = parseDockerfile('FROM a AS base\nFROM b AS unused\nFROM base AS build\nFROM c AS assets\nFROM d\nCOPY --from=build /x /x\nCOPY --from=assets /y /y\n');
    expect(stagesToBuild(parsed).map((s) => s.index)).toEqual([0, 2, 3, 4]);
  });

  it('reads EXPOSE ports, protocols and ranges', () => {
    expect(last('FROM x\nEXPOSE 80 443/tcp 53/udp 9000-9002\nEXPOSE 80\n').settings.expose).toEqual([80, 443, 53, 9000, 9001, 9002]);
    expect(parseError('FROM x\nEXPOSE http\n').message).toContain('line 2: EXPOSE http is not a port');
  });

  it('records USER and LABEL, and warns of what it ignores', () => {
    const parsed = parseDockerfile(
      'FROM x\nMAINTAINER me\nLABEL a=1 "b c"="d e"\nLABEL legacy value\nUSER node\nHEALTHCHECK CMD curl -f localhost\nSTOPSIGNAL SIGINT\nVOLUME /data\nONBUILD RUN make\n',
    );
    expect(parsed.stages[0]?.settings).toMatchObject({ user: 'node', labels: { a: '1', 'b c': 'd e', legacy: 'value' } });
    expect(parsed.warnings.map((w) => `${w.line ?? ''} ${w.message.split(' ')[0] ?? ''}`)).toEqual(['5 USER', '6 HEALTHCHECK', '7 STOPSIGNAL', '8 VOLUME', '9 ONBUILD']);
  });
});

describe('errors', () => {
  it('names the Dockerfile and the line', () => {
    const e = parseError('FROM x\n\nFROBNICATE now\n', { file: 'web/Dockerfile.prod' });
    expect(e).toMatchObject({ code: 'DOCKERFILE_INVALID', file: 'web/Dockerfile.prod', line: 3, context: { file: 'web/Dockerfile.prod', line: 3 } });
    expect(e.message).toBe('web/Dockerfile.prod line 3: unknown instruction "FROBNICATE"');
  });

  it('refuses malformed Dockerfiles', () => {
    expect(parseError('RUN make\n').message).toBe('Dockerfile line 1: RUN comes before the first FROM (only ARG may)');
    expect(parseError('ARG A\n# only a comment\n').message).toBe('Dockerfile line 1: there is no FROM instruction');
    expect(parseError('FROM\n').message).toContain('FROM takes an image');
    expect(parseError('FROM x AS\n').line).toBe(1);
    expect(parseError('FROM x AS a\nFROM y AS A\n').message).toContain('used twice');
    expect(parseError('FROM x\nENV A="open\n').message).toBe('Dockerfile line 2: unterminated " quote');
    expect(parseError('FROM x\nENV =v\n').line).toBe(2);
    expect(parseError('FROM x\nENV ONLY\n').message).toContain('ENV ONLY needs a value');
    expect(parseError('FROM x\nSHELL /bin/bash -c\n').message).toContain('SHELL takes a JSON array');
    expect(parseError('FROM x\nRUN\n').message).toContain('RUN needs a command');
    expect(parseError('FROM x\nARG 1BAD\n').message).toContain('is not a valid ARG name');
    expect(parseError('FROM x\nCOPY --link --owner=1 a b\n').message).toContain('COPY --owner is not supported');
    expect(parseError('FROM x\nRUN <<EOF\necho\n').message).toBe('Dockerfile line 2: the heredoc <<EOF has no closing EOF line');
    expect(parseError('FROM x\nENV A=${B\n').message).toContain('missing }');
  });
});

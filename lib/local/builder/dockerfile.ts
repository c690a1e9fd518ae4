/**
 * Dockerfiles, read as Docker reads them, for the local builder. Parsing also settles everything
 * Docker decides before it runs anything (build args and their scopes, `ENV`, variable
 * substitution, stage references, the image settings each stage leaves), so the builder is left
 * with copying files and running commands.
 */
import { posix } from 'node:path';
import { SlipwayError } from '../../errors';

export class DockerfileError extends SlipwayError {
  constructor(
    readonly file: string,
    readonly line: number,
    problem: string,
  ) {
    super(`${file} line ${line}: ${problem}`, 'DOCKERFILE_INVALID', { file, line });
  }
}

interface StepBase {
  /** The instruction's first line in the Dockerfile. */
  readonly line: number;
  /** The instruction as written, before substitution, so it never holds a build arg's value. */
  readonly text: string;
}

export interface RunStep extends StepBase {
  readonly kind: 'run';
  /** The program and its arguments: the exec form, or the shell form after the stage's `SHELL`. */
  readonly argv: readonly string[];
  /** The stage's `ARG`s in scope and its `ENV` (which wins over an `ARG` of the same name). */
  readonly env: Readonly<Record<string, string>>;
  readonly workdir: string;
}

export interface CopyStep extends StepBase {
  readonly kind: 'copy';
  readonly instruction: 'COPY' | 'ADD';
  /** Paths (wildcards allowed) in the build context, or in the `from` stage's filesystem. */
  readonly sources: readonly string[];
  /** An absolute container path. */
  readonly dest: string;
  /** The destination was written as a folder (`/` at the end, or `.`). */
  readonly destIsDir: boolean;
  /** The index of the stage to copy from (`--from`); the build context when absent. */
  readonly from?: number;
  /** `--chmod`, as a number. */
  readonly mode?: number;
}

export interface WorkdirStep extends StepBase {
  readonly kind: 'workdir';
  readonly path: string;
}

export type Step = RunStep | CopyStep | WorkdirStep;

/** What a stage passes on to stages built `FROM` it; the last stage's are the image's config. */
export interface ImageSettings {
  readonly workdir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly expose: readonly number[];
  readonly user: string;
  readonly shell: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

export interface Stage {
  readonly index: number;
  /** The `AS` name, lower-cased as Docker compares them. */
  readonly name?: string;
  readonly line: number;
  readonly text: string;
  /** An earlier stage this one starts from, or an image (the host's toolchain stands in for it). */
  readonly from: { readonly stage: number } | { readonly image: string };
  readonly steps: readonly Step[];
  readonly settings: ImageSettings;
}

export interface DockerfileWarning {
  /** Absent when the warning is about the whole file. */
  readonly line?: number;
  readonly message: string;
}

export interface Dockerfile {
  readonly stages: readonly Stage[];
  readonly warnings: readonly DockerfileWarning[];
}

export interface ParseOptions {
  /** The Dockerfile's name, for messages. */
  readonly file?: string;
  /** Build args as convox.yml gives them: `KEY=VALUE`, or a bare `KEY` that takes its value from `env`. */
  readonly buildArgs?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** The base image's environment, which the host's stands in for (e.g. `PATH`, for `ENV PATH=/app/bin:$PATH`). */
  readonly baseEnv?: Readonly<Record<string, string>>;
  /** The values BuildKit predefines (`TARGETARCH`, ...): in the global scope, and for an `ARG` of that name with no value. */
  readonly predefinedArgs?: Readonly<Record<string, string>>;
}

const DEFAULT_SHELL = ['/bin/sh', '-c'];
const DIRECTIVE = /^#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*$/;
const HEREDOC = /(?<!<)<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const STAGE_NAME = /^[a-z][a-z0-9._-]*$/;
const PORT = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i;
const URL_SOURCE = /^(?:[a-z][a-z0-9+.-]*:\/\/|git@)/i;

/** The value of each build arg, as convox.yml gives them; a bare `KEY` missing from `env` has none. */
export function resolveBuildArgs(args: readonly string[], env: Readonly<Record<string, string>> = {}): Map<string, string> {
  const values = new Map<string, string>();
  for (const arg of args) {
    const eq = arg.indexOf('=');
    const value = eq >= 0 ? arg.slice(eq + 1) : own(env, arg);
    if (value !== undefined) values.set(eq >= 0 ? arg.slice(0, eq) : arg, value);
  }
  return values;
}

/** The stages the last one needs, in build order: those it starts from and copies from, transitively. */
export function stagesToBuild(dockerfile: Dockerfile): Stage[] {
  const needed = new Set<number>();
  const visit = (index: number): void => {
    const stage = dockerfile.stages[index];
    if (!stage || needed.has(index)) return;
    needed.add(index);
    if ('stage' in stage.from) visit(stage.from.stage);
    for (const step of stage.steps) if (step.kind === 'copy' && step.from !== undefined) visit(step.from);
  };
  visit(dockerfile.stages.length - 1);
  return dockerfile.stages.filter((s) => needed.has(s.index));
}

export function parseDockerfile(text: string, options: ParseOptions = {}): Dockerfile {
  return new Parser(text, options).parse();
}

function own(record: Readonly<Record<string, string>> | undefined, key: string): string | undefined {
  return record && Object.hasOwn(record, key) ? record[key] : undefined;
}

/** The JSON (exec) form, if the arguments are one; anything else is the shell form, as in Docker. */
function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const value: unknown = JSON.parse(args);
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
  } catch {
    return undefined;
  }
}

interface Instruction {
  readonly line: number;
  readonly keyword: string;
  readonly args: string;
  readonly text: string;
  readonly heredocs: readonly { readonly stripTabs: boolean; readonly body: readonly string[]; readonly end: string }[];
}

type Lookup = (name: string) => string | undefined;

interface Settings {
  workdir: string;
  env: Map<string, string>;
  entrypoint: readonly string[];
  cmd: readonly string[];
  expose: number[];
  user: string;
  shell: readonly string[];
  labels: Map<string, string>;
}

interface OpenStage {
  readonly index: number;
  readonly name?: string;
  readonly line: number;
  readonly text: string;
  readonly from: Stage['from'];
  readonly steps: Step[];
  readonly args: Map<string, string | undefined>;
  readonly settings: Settings;
  /** Whether this stage set `CMD` (an `ENTRYPOINT` clears only an inherited one). */
  cmdSet: boolean;
}

class Parser {
  private readonly file: string;
  private escape = '\\';
  private readonly buildArgs: Map<string, string>;
  private readonly usedArgs = new Set<string>();
  private readonly globalArgs = new Map<string, string | undefined>();
  private readonly stages: Stage[] = [];
  private readonly warnings: DockerfileWarning[] = [];
  private stage: OpenStage | undefined;
  private at: Instruction = { line: 1, keyword: '', args: '', text: '', heredocs: [] };

  constructor(
    private readonly text: string,
    private readonly options: ParseOptions,
  ) {
    this.file = options.file ?? 'Dockerfile';
    this.buildArgs = resolveBuildArgs(options.buildArgs ?? [], options.env);
    for (const arg of options.buildArgs ?? []) {
      if (!arg.includes('=') && !this.buildArgs.has(arg)) this.warnings.push({ message: `build arg ${arg} has no value in the app's environment` });
    }
  }

  parse(): Dockerfile {
    const instructions = this.instructions();
    for (const instruction of instructions) {
      this.at = instruction;
      this.dispatch(instruction);
    }
    this.closeStage();
    if (this.stages.length === 0) this.fail('there is no FROM instruction', instructions.at(-1)?.line ?? 1);
    for (const name of this.buildArgs.keys()) {
      if (!this.usedArgs.has(name)) this.warnings.push({ message: `build arg ${name} is not declared by any ARG` });
    }
    return { stages: this.stages, warnings: this.warnings };
  }

  private fail(problem: string, line = this.at.line): never {
    throw new DockerfileError(this.file, line, problem);
  }

  private warn(message: string): void {
    this.warnings.push({ line: this.at.line, message });
  }

  /** Logical lines: directives and comments dropped, continuations joined, RUN heredocs collected. */
  private instructions(): Instruction[] {
    const physical = this.text.split(/\r?\n/);
    let i = 0;
    // Parser directives count only before any comment, blank line or instruction.
    for (; i < physical.length; i++) {
      const directive = DIRECTIVE.exec(physical[i] ?? '');
      if (!directive) break;
      if (directive[1]?.toLowerCase() !== 'escape') continue;
      const value = directive[2] ?? '';
      if (value !== '\\' && value !== '`') this.fail(`the escape directive takes \\ or \`, not ${JSON.stringify(value)}`, i + 1);
      this.escape = value;
    }
    const continuation = new RegExp(`${this.escape === '\\' ? '\\\\' : '`'}[ \\t]*$`);
    const out: Instruction[] = [];
    while (i < physical.length) {
      const line = i + 1;
      let text = (physical[i++] ?? '').trim();
      if (text === '' || text.startsWith('#')) continue;
      let more = continuation.test(text);
      text = text.replace(continuation, '');
      while (more && i < physical.length) {
        const next = physical[i++] ?? '';
        // Comment and blank lines inside a continuation are dropped, as Docker does.
        if (next.trim() === '' || next.trimStart().startsWith('#')) continue;
        more = continuation.test(next);
        text += next.replace(continuation, '');
      }
      const match = /^(\S+)\s*([\s\S]*)$/.exec(text);
      const keyword = (match?.[1] ?? '').toUpperCase();
      const args = (match?.[2] ?? '').trim();
      const heredocs = [];
      if (keyword === 'RUN' || keyword === 'COPY' || keyword === 'ADD') {
        for (const marker of args.matchAll(HEREDOC)) {
          const name = marker[3] ?? '';
          const stripTabs = marker[1] === '-';
          const body: string[] = [];
          for (;;) {
            if (i >= physical.length) this.fail(`the heredoc <<${name} has no closing ${name} line`, line);
            const raw = physical[i++] ?? '';
            if ((stripTabs ? raw.replace(/^\t+/, '') : raw) === name) {
              heredocs.push({ stripTabs, body, end: raw });
              break;
            }
            body.push(raw);
          }
        }
      }
      out.push({ line, keyword, args, text, heredocs });
    }
    return out;
  }

  private dispatch(i: Instruction): void {
    if (!this.stage && i.keyword !== 'ARG' && i.keyword !== 'FROM') this.fail(`${i.keyword} comes before the first FROM (only ARG may)`);
    switch (i.keyword) {
      case 'FROM':
        return this.from(i.args);
      case 'ARG':
        return this.arg(i.args);
      case 'ENV':
        for (const [name, value] of this.pairs(i.args)) this.open().settings.env.set(name, value);
        return;
      case 'LABEL':
        for (const [name, value] of this.pairs(i.args)) this.open().settings.labels.set(name, value);
        return;
      case 'RUN':
        return this.run(i);
      case 'COPY':
      case 'ADD':
        return this.copy(i.keyword, i);
      case 'WORKDIR':
        return this.workdir(i);
      case 'CMD':
      case 'ENTRYPOINT':
        return this.command(i.keyword, i.args);
      case 'EXPOSE':
        return this.expose(i.args);
      case 'USER':
        this.open().settings.user = this.single(i.args);
        return this.warn(`USER is recorded but not applied: processes run as the host user`);
      case 'SHELL':
        return this.shell(i.args);
      case 'HEALTHCHECK':
        return this.warn(`HEALTHCHECK is ignored: the service's health settings in convox.yml decide`);
      case 'STOPSIGNAL':
        return this.warn(`STOPSIGNAL is ignored: the local rack stops processes with SIGTERM`);
      case 'VOLUME':
        return this.warn(`VOLUME is ignored: the local rack mounts no volumes`);
      case 'ONBUILD':
        return this.warn(`ONBUILD is ignored: it applies to builds FROM this image, which the local rack does not make`);
      case 'MAINTAINER':
        return;
      default:
        this.fail(`unknown instruction ${JSON.stringify(i.text.split(/\s/)[0])}`);
    }
  }

  private open(): OpenStage {
    return this.stage ?? this.fail('no FROM yet');
  }

  private lookup(): Lookup {
    const stage = this.stage;
    if (!stage) return (name) => this.globalArgs.get(name) ?? own(this.options.predefinedArgs, name);
    return (name) => stage.settings.env.get(name) ?? own(this.options.baseEnv, name) ?? stage.args.get(name);
  }

  /** Leading `--name=value` flags; those not in `allowed` are refused. */
  private flags(args: string, allowed: readonly string[]): { flags: Map<string, string>; rest: string } {
    const flags = new Map<string, string>();
    let rest = args;
    for (let m = /^--([A-Za-z-]+)(?:=(\S*))?(?:\s+|$)/.exec(rest); m; m = /^--([A-Za-z-]+)(?:=(\S*))?(?:\s+|$)/.exec(rest)) {
      const name = m[1] ?? '';
      if (!allowed.includes(name)) this.fail(`${this.at.keyword} --${name} is not supported${allowed.length ? ` (only ${allowed.map((a) => `--${a}`).join(', ')})` : ''}`);
      flags.set(name, this.expand(m[2] ?? '', this.lookup()));
      rest = rest.slice(m[0].length);
    }
    return { flags, rest };
  }

  private closeStage(): void {
    const s = this.stage;
    if (!s) return;
    const { settings } = s;
    this.stages.push({
      index: s.index,
      ...(s.name !== undefined ? { name: s.name } : {}),
      line: s.line,
      text: s.text,
      from: s.from,
      steps: s.steps,
      settings: { ...settings, env: Object.fromEntries(settings.env), expose: [...settings.expose], labels: Object.fromEntries(settings.labels) },
    });
    this.stage = undefined;
  }

  private from(args: string): void {
    // FROM sees only the global scope.
    this.closeStage();
    const { rest } = this.flags(args, ['platform']);
    const words = this.words(rest).map((w) => this.expand(w, this.lookup()));
    const [image, as, name, ...extra] = words;
    if (!image || extra.length > 0 || (as !== undefined && (as.toLowerCase() !== 'as' || name === undefined))) this.fail('FROM takes an image and, optionally, AS and a stage name');
    const stageName = name?.toLowerCase();
    if (stageName !== undefined && !STAGE_NAME.test(stageName)) this.fail(`${JSON.stringify(name)} is not a valid stage name`);
    if (stageName !== undefined && this.stages.some((s) => s.name === stageName)) this.fail(`the stage name ${JSON.stringify(name)} is used twice`);
    const base = this.stages.find((s) => s.name === image.toLowerCase());
    const inherited = base?.settings;
    this.stage = {
      index: this.stages.length,
      ...(stageName !== undefined ? { name: stageName } : {}),
      line: this.at.line,
      text: this.at.text,
      from: base ? { stage: base.index } : { image },
      steps: [],
      args: new Map(),
      cmdSet: false,
      settings: {
        workdir: inherited?.workdir ?? '/',
        env: new Map(Object.entries(inherited?.env ?? {})),
        entrypoint: inherited?.entrypoint ?? [],
        cmd: inherited?.cmd ?? [],
        expose: [...(inherited?.expose ?? [])],
        user: inherited?.user ?? '',
        shell: inherited?.shell ?? DEFAULT_SHELL,
        labels: new Map(Object.entries(inherited?.labels ?? {})),
      },
    };
  }

  private arg(args: string): void {
    const words = this.words(args);
    if (words.length === 0) this.fail('ARG needs a name');
    for (const word of words) {
      const eq = word.indexOf('=');
      const name = eq >= 0 ? word.slice(0, eq) : word;
      if (NAME.exec(name)?.[0] !== name) this.fail(`${JSON.stringify(name)} is not a valid ARG name`);
      const fallback = eq >= 0 ? this.expand(word.slice(eq + 1), this.lookup()) : undefined;
      // An ARG in a stage without a default takes the global one, as in Docker.
      const inherited = this.stage ? this.globalArgs.get(name) : undefined;
      this.usedArgs.add(name);
      (this.stage?.args ?? this.globalArgs).set(name, this.buildArgs.get(name) ?? fallback ?? inherited ?? own(this.options.predefinedArgs, name));
    }
  }

  /** `KEY=VALUE` pairs (ENV, LABEL), or the legacy `KEY VALUE`; every value sees the variables from before the instruction. */
  private pairs(args: string): [string, string][] {
    const words = this.words(args);
    const lookup = this.lookup();
    const first = words[0];
    if (first === undefined) this.fail(`${this.at.keyword} needs a name and a value`);
    if (!first.includes('=')) {
      const value = args.slice(first.length).trim();
      if (value === '') this.fail(`${this.at.keyword} ${first} needs a value`);
      return [[this.expand(first, lookup), this.expand(value, lookup)]];
    }
    return words.map((word) => {
      const eq = word.indexOf('=');
      const name = eq > 0 ? this.expand(word.slice(0, eq), lookup) : '';
      if (name === '') this.fail(`${this.at.keyword} expects NAME=value pairs, not ${JSON.stringify(word)}`);
      return [name, this.expand(word.slice(eq + 1), lookup)];
    });
  }

  /** An argument taken whole, spaces included (WORKDIR, USER). */
  private single(args: string): string {
    const value = this.expand(args, this.lookup());
    if (value === '') this.fail(`${this.at.keyword} needs a value`);
    return value;
  }

  /** A command in exec form, or the shell form run by the stage's shell. */
  private argv(args: string): string[] {
    const exec = execForm(args);
    if (exec) return exec;
    if (args === '') this.fail(`${this.at.keyword} needs a command`);
    return [...this.open().settings.shell, args];
  }

  private run(i: Instruction): void {
    const { flags, rest } = this.flags(i.args, ['mount', 'network', 'security']);
    const mount = flags.get('mount');
    const mountType = mount === undefined ? undefined : (/(?:^|,)type=([a-z]+)/.exec(mount)?.[1] ?? 'bind');
    if (mountType === 'cache' || mountType === 'tmpfs') this.warn(`RUN --mount=type=${mountType} is ignored: the command runs without that mount`);
    else if (mountType !== undefined) this.fail(`RUN --mount=type=${mountType} is not supported by the local builder`);
    const stage = this.open();
    const argv = i.heredocs.length > 0 ? [...stage.settings.shell, this.heredocScript(rest, i.heredocs)] : this.argv(rest);
    if (argv.length === 0) this.fail('RUN needs a command');
    const env: Record<string, string> = {};
    for (const [name, value] of stage.args) if (value !== undefined) env[name] = value;
    for (const [name, value] of stage.settings.env) env[name] = value;
    stage.steps.push({ kind: 'run', line: i.line, text: i.text, argv, env, workdir: stage.settings.workdir });
  }

  /** `RUN <<EOF` runs the heredoc as a script; `RUN cmd <<EOF` hands the whole text to the shell, which reads heredocs itself. */
  private heredocScript(command: string, heredocs: Instruction['heredocs']): string {
    const [only] = heredocs;
    if (only && heredocs.length === 1 && command.replace(HEREDOC, '').trim() === '') {
      return only.body.map((l) => (only.stripTabs ? l.replace(/^\t+/, '') : l)).join('\n');
    }
    return [command, ...heredocs.flatMap((h) => [...h.body, h.end])].join('\n');
  }

  private copy(keyword: 'COPY' | 'ADD', i: Instruction): void {
    if (i.heredocs.length > 0) this.fail(`${keyword} with a heredoc is not supported by the local builder`);
    const { flags, rest } = this.flags(i.args, keyword === 'COPY' ? ['from', 'chown', 'chmod', 'link'] : ['chown', 'chmod', 'link']);
    const lookup = this.lookup();
    const words = (execForm(rest) ?? this.words(rest)).map((w) => this.expand(w, lookup));
    const dest = words.pop();
    if (dest === undefined || dest === '' || words.length === 0) this.fail(`${keyword} needs a source and a destination`);
    const destIsDir = dest.endsWith('/') || dest === '.' || dest.endsWith('/.');
    if (words.length > 1 && !destIsDir) this.fail(`${keyword} with more than one source needs a destination ending in /`);
    const from = flags.get('from');
    for (const source of words) {
      if (keyword === 'ADD' && URL_SOURCE.test(source)) this.fail(`ADD of a URL (${source}) is not supported by the local builder: download it in a RUN step`);
      if (from === undefined && leavesRoot(source)) this.fail(`${keyword} source ${source} is outside the build context`);
    }
    const chmod = flags.get('chmod');
    if (chmod !== undefined && !/^[0-7]{3,4}$/.test(chmod)) this.fail(`--chmod=${chmod}: the local builder takes octal modes only`);
    const stage = this.open();
    stage.steps.push({
      kind: 'copy',
      line: i.line,
      text: i.text,
      instruction: keyword,
      sources: words,
      dest: posix.resolve(stage.settings.workdir, dest),
      destIsDir,
      ...(from !== undefined ? { from: this.stageRef(from) } : {}),
      ...(chmod !== undefined ? { mode: parseInt(chmod, 8) } : {}),
    });
  }

  /** The earlier stage `--from` names, by name or index; an image is refused, as nothing is pulled. */
  private stageRef(value: string): number {
    const byIndex = /^\d+$/.test(value) ? Number(value) : undefined;
    const stage = byIndex !== undefined ? this.stages[byIndex] : this.stages.find((s) => s.name === value.toLowerCase());
    if (!stage) this.fail(`COPY --from=${value} does not name an earlier stage, and the local builder cannot copy from an image`);
    return stage.index;
  }

  private workdir(i: Instruction): void {
    const stage = this.open();
    stage.settings.workdir = posix.resolve(stage.settings.workdir, this.single(i.args));
    stage.steps.push({ kind: 'workdir', line: i.line, text: i.text, path: stage.settings.workdir });
  }

  private command(keyword: 'CMD' | 'ENTRYPOINT', args: string): void {
    const stage = this.open();
    const argv = this.argv(args);
    if (keyword === 'CMD') {
      stage.settings.cmd = argv;
      stage.cmdSet = true;
      return;
    }
    stage.settings.entrypoint = argv;
    if (!stage.cmdSet) stage.settings.cmd = [];
  }

  private expose(args: string): void {
    const { expose } = this.open().settings;
    const lookup = this.lookup();
    for (const word of this.words(args).map((w) => this.expand(w, lookup))) {
      const m = PORT.exec(word);
      const low = Number(m?.[1]);
      const high = m?.[2] === undefined ? low : Number(m[2]);
      if (!m || low < 1 || high > 65535 || high < low) this.fail(`EXPOSE ${word} is not a port, a port range or port/protocol`);
      for (let port = low; port <= high; port++) if (!expose.includes(port)) expose.push(port);
    }
  }

  private shell(args: string): void {
    const shell = execForm(args);
    if (!shell || shell.length === 0) this.fail('SHELL takes a JSON array, e.g. SHELL ["/bin/bash", "-c"]');
    this.open().settings.shell = shell;
  }

  /** Split on whitespace outside quotes; quotes and escapes stay for `expand` to remove. */
  private words(text: string): string[] {
    const words: string[] = [];
    let word: string | undefined;
    let quote = '';
    for (let i = 0; i < text.length; i++) {
      const c = text.charAt(i);
      if (quote === '' && /\s/.test(c)) {
        if (word !== undefined) words.push(word);
        word = undefined;
        continue;
      }
      word = (word ?? '') + c;
      if (c === this.escape && quote !== "'" && i + 1 < text.length) word += text.charAt(++i);
      else if (quote === '' && (c === '"' || c === "'")) quote = c;
      else if (c === quote) quote = '';
    }
    if (quote !== '') this.fail(`unterminated ${quote} quote`);
    if (word !== undefined) words.push(word);
    return words;
  }

  /** Docker's word processing: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alternative}`, `${VAR:?error}`; quotes removed, escapes applied. */
  private expand(word: string, lookup: Lookup): string {
    return this.expandUntil(word, { pos: 0 }, lookup, false);
  }

  private expandUntil(s: string, at: { pos: number }, lookup: Lookup, inBraces: boolean): string {
    let out = '';
    while (at.pos < s.length) {
      const c = s.charAt(at.pos);
      if (inBraces && c === '}') return out;
      at.pos++;
      if (c === this.escape) out += at.pos < s.length ? s.charAt(at.pos++) : c;
      else if (c === "'") {
        const end = s.indexOf("'", at.pos);
        if (end < 0) this.fail(`unterminated ' quote in ${s}`);
        out += s.slice(at.pos, end);
        at.pos = end + 1;
      } else if (c === '"') out += this.doubleQuoted(s, at, lookup);
      else if (c === '$') out += this.variable(s, at, lookup);
      else out += c;
    }
    if (inBraces) this.fail(`missing } in ${s}`);
    return out;
  }

  private doubleQuoted(s: string, at: { pos: number }, lookup: Lookup): string {
    let out = '';
    while (at.pos < s.length) {
      const c = s.charAt(at.pos++);
      if (c === '"') return out;
      if (c === '$') out += this.variable(s, at, lookup);
      else if (c === this.escape && ['"', '$', this.escape].includes(s.charAt(at.pos))) out += s.charAt(at.pos++);
      else out += c;
    }
    return this.fail(`unterminated " quote in ${s}`);
  }

  private variable(s: string, at: { pos: number }, lookup: Lookup): string {
    const braced = s.charAt(at.pos) === '{';
    const name = NAME.exec(s.slice(at.pos + (braced ? 1 : 0)))?.[0];
    // A `$` not followed by a name stays a `$`.
    if (name === undefined) {
      if (braced) this.fail(`bad substitution in ${s}`);
      return '$';
    }
    at.pos += name.length + (braced ? 1 : 0);
    const value = lookup(name);
    if (!braced) return value ?? '';
    const colon = s.charAt(at.pos) === ':';
    const operator = s.charAt(at.pos + (colon ? 1 : 0));
    if (operator === '') this.fail(`missing } in ${s}`);
    if (!colon && operator === '}') {
      at.pos++;
      return value ?? '';
    }
    if (!['-', '+', '?'].includes(operator)) this.fail(`unsupported substitution in ${s} (the local builder knows \${VAR}, \${VAR:-default}, \${VAR:+alternative} and \${VAR:?message})`);
    at.pos += colon ? 2 : 1;
    const word = this.expandUntil(s, at, lookup, true);
    at.pos++;
    const set = value !== undefined && (!colon || value !== '');
    if (operator === '+') return set ? word : '';
    if (operator === '?' && !set) this.fail(`${name}: ${word === '' ? 'is not set' : word}`);
    return set ? (value ?? '') : word;
  }
}

/** Whether a context path climbs above the context's root (an absolute path starts at the root). */
function leavesRoot(path: string): boolean {
  let depth = 0;
  for (const part of path.split('/')) {
    if (part === '..') depth--;
    else if (part !== '' && part !== '.') depth++;
    if (depth < 0) return true;
  }
  return false;
}

/**
 * One process of a service, kept running the way a kubelet keeps a container running: restarted
 * with exponential back-off when it exits, stopped with SIGTERM and, after the termination grace
 * period, SIGKILL. Each process leads its own process group so that stopping it also stops
 * whatever it started.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ProcessSpec {
  /** Names the process in logs, e.g. `web.R4FQXCMZJWA.2`. */
  readonly name: string;
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly terminationGraceSeconds: number;
  /** Restart when it exits (services); one-off jobs run once. */
  readonly restart: boolean;
  readonly onOutput: (stream: 'stdout' | 'stderr', text: string) => void;
  /** Told about every start (with its pid) and exit, e.g. to keep a pid registry. */
  readonly onLifecycle?: (event: { readonly type: 'started'; readonly pid: number } | { readonly type: 'exited'; readonly pid: number; readonly code: number | null; readonly signal: string | null }) => void;
}

export type ProcessPhase = 'running' | 'backoff' | 'stopping' | 'stopped' | 'exited';

const BACKOFF_START_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
/** A process that ran this long is healthy again: its next crash starts the back-off anew. */
const BACKOFF_RESET_MS = 60_000;
const TAIL_LINES = 20;

export class SupervisedProcess {
  phase: ProcessPhase = 'stopped';
  restarts = 0;
  startedAt = 0;
  lastExit?: { readonly code: number | null; readonly signal: string | null; readonly at: number };
  /** Why it could not start at all (a missing executable), when that happened. */
  startError?: string;
  private child?: ChildProcess;
  private backoffMs = BACKOFF_START_MS;
  private timer?: NodeJS.Timeout;
  private readonly tailLines: string[] = [];
  private readonly exitWaiters: (() => void)[] = [];

  constructor(readonly spec: ProcessSpec) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The last lines it wrote, for failure reasons. */
  tail(): readonly string[] {
    return this.tailLines;
  }

  start(): void {
    if (this.phase === 'running' || this.phase === 'stopping') return;
    const [command, ...args] = this.spec.argv;
    if (!command) throw new Error(`process ${this.spec.name} has no command`);
    this.phase = 'running';
    this.startedAt = Date.now();
    const child = spawn(command, args, { cwd: this.spec.cwd, env: { ...this.spec.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child = child;
    child.once('spawn', () => {
      this.startError = undefined;
      if (child.pid) this.spec.onLifecycle?.({ type: 'started', pid: child.pid });
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = child[stream];
      if (!source) continue;
      createInterface({ input: source, crlfDelay: Infinity }).on('line', (line) => {
        this.tailLines.push(line);
        if (this.tailLines.length > TAIL_LINES) this.tailLines.shift();
        this.spec.onOutput(stream, line);
      });
    }
    child.once('error', (e) => {
      // ENOENT and EACCES arrive here instead of an exit when the executable cannot run.
      this.startError = `cannot start ${command}: ${(e as NodeJS.ErrnoException).code ?? e.message}`;
      this.spec.onOutput('stderr', this.startError);
      this.exited(child, null, null);
    });
    child.once('exit', (code, signal) => this.exited(child, code, signal));
  }

  private exited(child: ChildProcess, code: number | null, signal: string | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    const ranMs = Date.now() - this.startedAt;
    this.lastExit = { code, signal, at: Date.now() };
    if (child.pid) this.spec.onLifecycle?.({ type: 'exited', pid: child.pid, code, signal });
    if (this.phase === 'stopping' || !this.spec.restart) {
      this.phase = this.phase === 'stopping' ? 'stopped' : 'exited';
      for (const w of this.exitWaiters.splice(0)) w();
      return;
    }
    if (ranMs > BACKOFF_RESET_MS) this.backoffMs = BACKOFF_START_MS;
    this.phase = 'backoff';
    this.restarts++;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.phase === 'backoff') {
        this.phase = 'stopped';
        this.start();
      }
    }, this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
  }

  /** SIGTERM to its process group, SIGKILL after the grace period; resolves once it is gone. */
  stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const child = this.child;
    if (!child?.pid) {
      this.phase = 'stopped';
      return Promise.resolve();
    }
    const pid = child.pid;
    this.phase = 'stopping';
    const gone = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    signalGroup(pid, 'SIGTERM');
    const kill = setTimeout(() => signalGroup(pid, 'SIGKILL'), this.spec.terminationGraceSeconds * 1000);
    return gone.then(() => {
      clearTimeout(kill);
      // Whatever the process started and left behind goes too.
      signalGroup(pid, 'SIGKILL');
    });
  }
}

/** Signal a process group; a group that is already gone is not an error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

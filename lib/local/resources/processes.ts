/**
 * Process and port helpers for the resource servers: spawning as another user, reading output
 * line by line, stopping gracefully, recognising a server a previous run left behind, and
 * finding free loopback ports.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';

import { LOOPBACK } from '../loopback';
import type { Probe } from './engine';

export { LOOPBACK };

/** A user to run a server as when the rack runs as root (PostgreSQL, for one, refuses root). */
export interface ServerUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Look a user up by name, in /etc/passwd first, then with `id` (directory services on macOS). */
export async function lookupUser(name: string): Promise<ServerUser | undefined> {
  try {
    const passwd = await readFile('/etc/passwd', 'utf8');
    for (const line of passwd.split('\n')) {
      const [user, , uid, gid] = line.split(':');
      if (user === name && uid !== undefined && gid !== undefined) return { name, uid: Number(uid), gid: Number(gid) };
    }
  } catch {
    // No /etc/passwd: ask `id` below.
  }
  try {
    const run = promisify(execFile);
    const uid = (await run('id', ['-u', name])).stdout.trim();
    const gid = (await run('id', ['-g', name])).stdout.trim();
    if (/^\d+$/.test(uid) && /^\d+$/.test(gid)) return { name, uid: Number(uid), gid: Number(gid) };
  } catch {
    // No such user.
  }
  return undefined;
}

/**
 * The first directory on the way to `dir` that `user` cannot enter, if any. A spawned process
 * with another uid has only its primary group (Node drops the supplementary ones), so the check
 * is exact: owner, group, then others' search bit.
 */
export async function firstUnreachableDir(dir: string, user: ServerUser): Promise<string | undefined> {
  const chain: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    chain.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of chain) {
    const s = await stat(d);
    const bit = s.uid === user.uid ? 0o100 : s.gid === user.gid ? 0o010 : 0o001;
    if ((s.mode & bit) === 0) return d;
  }
  return undefined;
}

/** An executable file at `path`, or undefined. */
export async function executable(path: string): Promise<string | undefined> {
  try {
    await access(path, constants.X_OK);
    const s = await stat(path);
    return s.isFile() ? path : undefined;
  } catch {
    return undefined;
  }
}

/** The first of `names` found on PATH, then in `extraDirs`. */
export async function findExecutable(names: readonly string[], extraDirs: readonly string[] = []): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...extraDirs];
  for (const name of names) {
    for (const dir of dirs) {
      const found = await executable(join(dir, name));
      if (found) return found;
    }
  }
  return undefined;
}

/** Hides every occurrence of the secrets in a line of output. */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const present = secrets.filter((s) => s.length > 0);
  return (text) => present.reduce((t, s) => t.split(s).join('[redacted]'), text);
}

/** Calls `onLine` for each complete line written to the streams, and once more for a final partial line. */
function readLines(child: ChildProcess, onLine: (text: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onLine(line.replace(/\r$/, ''));
    });
    stream.on('end', () => {
      if (pending !== '') onLine(pending);
      pending = '';
    });
  }
}

export interface SpawnOptions {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly runAs?: ServerUser;
  readonly onLine: (text: string) => void;
}

/** The environment a server gets: never the rack's own (which may hold cloud credentials). */
export function serverEnv(home: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: home, LANG: 'C', ...extra };
}

/** Start a long-running server; its output goes to `onLine`. */
export function spawnServer(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // A group of its own: Ctrl-C at the rack's terminal must not stop the databases before the
    // apps that use them; the rack stops them last.
    detached: true,
    ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
  });
  readLines(child, options.onLine);
  return child;
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly lines: readonly string[];
}

/** Run a command to its end (initdb and the like); aborting stops it. */
export async function runCommand(command: string, args: readonly string[], options: SpawnOptions & { readonly input?: string; readonly signal: AbortSignal }): Promise<RunResult> {
  const lines: string[] = [];
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
  });
  readLines(child, (line) => {
    lines.push(line);
    options.onLine(line);
  });
  if (options.input !== undefined && child.stdin) child.stdin.end(options.input);
  const onAbort = () => void terminate(child, 'SIGTERM', 5_000);
  options.signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await new Promise<RunResult>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal, lines }));
    });
  } finally {
    options.signal.removeEventListener('abort', onAbort);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Stop a child: `signal` first (each server's graceful one), SIGKILL after `timeoutMs`. */
export async function terminate(child: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (exited(child) || child.pid === undefined) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    await gone;
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a process runs (a zombie does not: it has exited and waits for its parent). */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // No /proc (macOS): kill(0) said it exists.
  }
}

/**
 * When a process started (clock ticks since boot, from /proc), to tell it from a later process
 * that reuses its pid; undefined where there is no /proc.
 */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces): state is field 3, starttime field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** A process's command line, from /proc or from `ps`. */
export async function commandLine(pid: number): Promise<string | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').join(' ').trim();
  } catch {
    try {
      const { stdout } = await promisify(execFile)('ps', ['-p', String(pid), '-o', 'command=']);
      return stdout.trim() || undefined;
    } catch {
      return undefined;
    }
  }
}

/** Stop a process that is not our child (left by a previous run): `signal`, then SIGKILL. */
export async function terminatePid(pid: number, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await isAlive(pid))) return;
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 50 && (await isAlive(pid)); i++) await sleep(100);
}

/**
 * Connect to a server on loopback, optionally send `greet`, and let `answer` judge what comes
 * back (undefined: read more). Refused, silent and closed connections are failed probes.
 */
export function probeSocket(port: number, answer: (received: Buffer) => Probe | undefined, greet?: string): Promise<Probe> {
  return new Promise((resolve) => {
    const socket = connect({ host: LOOPBACK, port });
    let settled = false;
    let received = Buffer.alloc(0);
    const done = (probe: Probe): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(probe);
    };
    socket.setTimeout(5_000, () => done({ ok: false, reason: 'no answer' }));
    socket.on('error', (error: NodeJS.ErrnoException) => done({ ok: false, reason: error.code === 'ECONNREFUSED' ? 'not listening yet' : (error.code ?? error.message) }));
    socket.on('close', () => done({ ok: false, reason: 'the server closed the connection' }));
    if (greet !== undefined) socket.on('connect', () => socket.write(greet));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const verdict = answer(received);
      if (verdict) done(verdict);
    });
  });
}

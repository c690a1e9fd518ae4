/** The CLI's side of the local rack's API: finds the running rack through its state folder. */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { SlipwayError } from '../../errors';
import type { RackEndpoint } from './api-server';
import { ENDPOINT_FILE, TOKEN_FILE } from './api-server';

/** The local rack's state folder: `--state-dir`, else `SLIPWAY_STATE_DIR`, else `~/.slipway/local`. */
export function defaultStateDir(given?: string): string {
  return resolve(given ?? process.env.SLIPWAY_STATE_DIR ?? join(homedir(), '.slipway', 'local'));
}

export class RackNotRunningError extends SlipwayError {
  constructor(stateDir: string, why: string) {
    super(`the local rack is not running (${why}); start it with: slipway rack start --local --detach${stateDir === defaultStateDir() ? '' : ` --state-dir ${stateDir}`}`, 'RACK_NOT_RUNNING', { stateDir });
  }
}

export class RackApiError extends SlipwayError {
  constructor(
    readonly status: number,
    message: string,
    code = 'RACK_API',
  ) {
    super(message, code, { status });
  }
}

export class RackClient {
  private constructor(
    readonly stateDir: string,
    readonly endpoint: RackEndpoint,
    private readonly token: string,
  ) {}

  static async connect(stateDir: string): Promise<RackClient> {
    let endpoint: RackEndpoint;
    let token: string;
    try {
      endpoint = JSON.parse(await readFile(join(stateDir, ENDPOINT_FILE), 'utf8')) as RackEndpoint;
      token = (await readFile(join(stateDir, TOKEN_FILE), 'utf8')).trim();
    } catch {
      throw new RackNotRunningError(stateDir, `no ${ENDPOINT_FILE} in ${stateDir}`);
    }
    if (!processAlive(endpoint.pid)) throw new RackNotRunningError(stateDir, `its process ${endpoint.pid} is gone`);
    return new RackClient(stateDir, endpoint, token);
  }

  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    return this.send<T>(method, path, { ...(body === undefined ? {} : { body }), headers });
  }

  /**
   * A request with a JSON body, raw bytes (a Buffer), or a stream of chunks (sent as they are
   * pulled: a bundle upload reports its progress so); `signal` abandons it.
   */
  async send<T>(method: string, path: string, options: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<T> {
    const { body, headers = {}, signal } = options;
    const stream = body instanceof ReadableStream;
    const raw = Buffer.isBuffer(body) || stream;
    let response: Response;
    try {
      response = await fetch(`${this.endpoint.api}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': raw ? 'application/octet-stream' : 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: stream ? body : Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body) }),
        // A stream body is sent while the answer may already come (undici requires saying so).
        ...(stream ? { duplex: 'half' } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new RackNotRunningError(this.stateDir, `its API at ${this.endpoint.api} does not answer: ${(e as Error & { cause?: { code?: string } }).cause?.code ?? (e as Error).message}`);
    }
    const answer = (await response.json()) as T & { error?: string; code?: string };
    if (!response.ok) throw new RackApiError(response.status, answer.error ?? `the rack answered ${response.status}`, answer.code);
    return answer;
  }
}

/** Whether a process runs. One that ended but that its parent has not reaped yet (a zombie) does not. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    // No /proc (macOS): the signal's answer stands.
    return true;
  }
}

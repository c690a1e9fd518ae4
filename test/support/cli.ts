/** Runs the real `slipway` command in a child process. */
import { spawn } from 'node:child_process';
import { CLI, REPO_ROOT } from './paths';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** One `slipway` run as this test file made it: what it was asked and what it printed. */
export interface CliRecord extends CliRun {
  readonly args: readonly string[];
}

/**
 * Every run of this test file (vitest gives each file its own module), so a test can scan all the
 * CLI printed for secrets (test/support/planted-secrets.ts).
 */
export const CLI_TRANSCRIPT: CliRecord[] = [];

export function runCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? REPO_ROOT, env: { ...process.env, NO_COLOR: '1', ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const run = { code: code ?? -1, stdout, stderr };
      CLI_TRANSCRIPT.push({ args: [...args], ...run });
      resolvePromise(run);
    });
  });
}

/** Run many CLI invocations with bounded concurrency (each is a Node process). */
export async function runCliMany<T>(items: readonly T[], args: (item: T) => string[], concurrency = 4, options: { cwd?: string } = {}): Promise<CliRun[]> {
  const results: CliRun[] = new Array<CliRun>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await runCli(args(items[i] as T), options);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

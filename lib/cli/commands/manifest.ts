/**
 * `slipway manifest validate` and `slipway manifest show`: load a convox.yml exactly as Convox
 * would, and say precisely what is wrong with it and where.
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { Diagnostic, LoadedManifest, ManifestSource } from '../../manifest';
import { assertValid, formatDiagnostic, loadManifest, ManifestError, manifestToJson } from '../../manifest';
import { readEnv } from '../env-input';
import type { CliIO } from '../io';
import { CommandFailed } from '../io';

export interface ManifestInput {
  readonly file: string;
  readonly env?: string[];
  readonly envFile?: string[];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function printDiagnostics(io: CliIO, diagnostics: readonly Diagnostic[], source: ManifestSource | undefined): void {
  for (const d of diagnostics) io.stderr.write(`${formatDiagnostic(d, source)}\n`);
}

function readManifestText(io: CliIO, file: string): { text: string; display: string } {
  const path = resolve(io.cwd, file);
  const display = relative(io.cwd, path) || file;
  try {
    return { text: readFileSync(path, 'utf8'), display };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    io.stderr.write(`${display}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, expected a convox.yml file' : `cannot read (${code ?? String(e)})`}\n`);
    throw new CommandFailed(1);
  }
}

/**
 * Load and validate; on failure print Convox's error text first (so scripts that grep for it keep
 * working), then every problem with its location, then the warnings.
 */
export function loadValidated(io: CliIO, input: ManifestInput): LoadedManifest {
  const { text, display } = readManifestText(io, input.file);
  const env = readEnv({ env: input.env ?? [], envFile: input.envFile ?? [] });
  try {
    const loaded = loadManifest(text, { env, file: display });
    const report = assertValid(loaded);
    printDiagnostics(io, [...loaded.warnings, ...report.warnings], loaded.source);
    return loaded;
  } catch (e) {
    if (!(e instanceof ManifestError)) throw e;
    const source = e.source;
    io.stderr.write(`${e.convoxMessage}\n\n`);
    printDiagnostics(io, e.diagnostics, source);
    if (e.warnings.length > 0) {
      io.stderr.write('\n');
      printDiagnostics(io, e.warnings, source);
    }
    const errors = e.diagnostics.length;
    io.stderr.write(`\n${display}: ${plural(errors, 'error')}${e.warnings.length ? `, ${plural(e.warnings.length, 'warning')}` : ''}\n`);
    throw new CommandFailed(1);
  }
}

export function validateCommand(io: CliIO, input: ManifestInput): void {
  const loaded = loadValidated(io, input);
  const m = loaded.manifest;
  const parts = [plural(m.services.length, 'service'), plural(m.resources.length, 'resource'), plural(m.timers.length, 'timer')];
  if (m.balancers.length > 0) parts.push(plural(m.balancers.length, 'balancer'));
  const warnings = loaded.warnings.length;
  io.stdout.write(`${loaded.source.file} is valid: ${parts.join(', ')}${warnings ? ` (${plural(warnings, 'warning')})` : ''}\n`);
}

export function showCommand(io: CliIO, input: ManifestInput & { json?: boolean }): void {
  const loaded = loadValidated(io, input);
  const json = manifestToJson(loaded.manifest);
  io.stdout.write(input.json ? `${JSON.stringify(json, null, 2)}\n` : stringify(json, { lineWidth: 0 }));
}

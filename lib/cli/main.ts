/** The `slipway` command line. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { SlipwayError } from '../errors';
import { showCommand, validateCommand } from './commands/manifest';
import { startCommand } from './commands/start';
import type { CliIO } from './io';
import { CommandFailed, processIO } from './io';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

interface ManifestOptions {
  file?: string;
  manifest?: string;
  env: string[];
  envFile: string[];
  json?: boolean;
}

function manifestOptions(cmd: Command): Command {
  return cmd
    .option('-f, --file <path>', 'the manifest to read', undefined)
    .option('-m, --manifest <path>', 'same as --file (Convox\u2019s flag)')
    .option('-e, --env <KEY=VALUE>', 'an app environment variable (repeatable)', collect, [])
    .option('--env-file <path>', 'read KEY=VALUE lines from a file (repeatable)', collect, []);
}

export function buildProgram(io: CliIO): Command {
  const program = new Command('slipway')
    .description('Self-hosted, Convox-compatible deploys: build, provision, roll out, gate and roll back.')
    .version(version(), '-v, --version')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  const manifest = program.command('manifest').description('read and check a convox.yml');

  manifestOptions(manifest.command('validate'))
    .description('load and validate a convox.yml as Convox does; exit 0 when valid, 1 when not')
    .action((opts: ManifestOptions) => {
      validateCommand(io, { file: opts.file ?? opts.manifest ?? 'convox.yml', env: opts.env, envFile: opts.envFile });
    });

  manifestOptions(manifest.command('show'))
    .argument('[file]', 'the manifest to read (default convox.yml)')
    .option('--json', 'print JSON (the normalised manifest, in Convox\u2019s conformance shape)')
    .description('print the manifest with every default filled in')
    .action((file: string | undefined, opts: ManifestOptions) => {
      showCommand(io, { file: file ?? opts.file ?? opts.manifest ?? 'convox.yml', env: opts.env, envFile: opts.envFile, json: opts.json ?? false });
    });

  manifest
    .command('schema')
    .description('print the JSON Schema for convox.yml (for editors with the YAML language server)')
    .action(() => {
      io.stdout.write(readFileSync(new URL('../../schema/convox.schema.json', import.meta.url), 'utf8'));
    });

  program
    .command('start')
    .argument('[dir]', 'the app directory (default: the bundled example app)')
    .option('-e, --env <KEY=VALUE>', 'an app environment variable (repeatable)', collect, [])
    .description('run an app on the local rack')
    .action((dir: string | undefined, opts: { env: string[] }) => {
      startCommand(io, { dir, env: opts.env });
    });

  return program;
}

/** Run the CLI; returns the exit code. */
export async function main(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommandFailed) return e.exitCode;
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof SlipwayError) {
      io.stderr.write(`error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

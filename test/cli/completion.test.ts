/** Shell completion generated from the command tree, run in a real bash (and zsh when this machine has it). */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';

const hasZsh = spawnSync('zsh', ['-c', 'true']).status === 0;
if (!hasZsh) console.warn('\n  zsh is not installed here: the zsh completion is only checked for its table, not run.\n');

/** What the bash function offers after the words typed so far (the last one is being completed). */
function bashComplete(script: string, words: string[]): string[] {
  const file = join(tmpdir(), `slipway-completion-${process.pid}.bash`);
  writeFileSync(file, script);
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const out = execFileSync('bash', ['-c', `source '${file}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _slipway; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l !== '');
}

describe('slipway completion (the real CLI; bash runs the script)', () => {
  it('completes commands, subcommands and their flags in bash', async () => {
    const run = await runCli(['completion', 'bash']);
    expect(run.code).toBe(0);
    expect(bashComplete(run.stdout, ['slipway', 'rel'])).toEqual(['releases']);
    expect(bashComplete(run.stdout, ['slipway', 'rack', 'st'])).toEqual(['start', 'stop', 'status']);
    expect(bashComplete(run.stdout, ['slipway', 'deploy', '--no-'])).toEqual(['--no-wait', '--no-auto-rollback']);
    // Flags and their values between the commands do not lose the place.
    expect(bashComplete(run.stdout, ['slipway', 'releases', '-a', 'shop', 'roll'])).toEqual(['rollback']);
  });

  it.skipIf(!hasZsh)('loads in zsh', async () => {
    const run = await runCli(['completion', 'zsh']);
    const file = join(tmpdir(), `slipway-completion-${process.pid}.zsh`);
    writeFileSync(file, run.stdout);
    expect(spawnSync('zsh', ['-c', `autoload -U compinit && compinit -u && source '${file}' && print -- \${_slipway_nodes[. rack]}`], { encoding: 'utf8' }).stdout).toContain('start stop status');
  });

  it('writes the zsh table from the same tree, and refuses other shells', async () => {
    const zsh = await runCli(['completion', 'zsh']);
    expect(zsh.stdout).toContain("'. rack' 'start stop status");
    const fish = await runCli(['completion', 'fish']);
    expect(fish.code).toBe(1);
    expect(fish.stderr).toContain('"fish" is not a shell this command knows; use bash or zsh');
  });
});

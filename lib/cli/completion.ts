/**
 * Shell completion for bash and zsh, generated from the command tree itself, so it never falls
 * behind the commands: each node (`.`, `. rack`, `. rack start`, ...) lists its subcommands and
 * options, and the shell function walks the words typed so far to the deepest node they name.
 *
 *   source <(slipway completion bash)        # ~/.bashrc
 *   source <(slipway completion zsh)         # ~/.zshrc
 */
import type { Command } from 'commander';
import { SlipwayError } from '../errors';

/** Every command path (`.` is the root) and the words that may follow it. */
export function completionTable(program: Command): Map<string, string[]> {
  const table = new Map<string, string[]>();
  const visit = (cmd: Command, path: string): void => {
    const subcommands = cmd.commands.map((c) => c.name());
    const options = cmd.options.flatMap((o) => [o.short, o.long].filter((f): f is string => f !== undefined));
    table.set(path, [...subcommands, ...options, ...(path === '.' ? [] : ['--help'])]);
    for (const sub of cmd.commands) visit(sub, `${path} ${sub.name()}`);
  };
  visit(program, '.');
  return table;
}

/** Words are plain: command names and flags hold only letters, digits and dashes; checked so the scripts stay safe to source. */
function entries(program: Command): [string, string][] {
  return [...completionTable(program)].map(([path, words]) => {
    for (const w of [path, ...words]) if (!/^[A-Za-z0-9 .-]*$/.test(w)) throw new SlipwayError(`completion: ${JSON.stringify(w)} is not a plain word`, 'COMPLETION_WORD');
    return [path, words.join(' ')];
  });
}

export function bashCompletion(program: Command): string {
  const table = entries(program)
    .map(([path, words]) => `  ['${path}']='${words}'`)
    .join('\n');
  return `# slipway completion for bash (4 or newer): source <(slipway completion bash)
declare -gA _slipway_nodes=(
${table}
)
_slipway() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="." w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    [[ -n "\${_slipway_nodes["$path $w"]+set}" ]] && path="$path $w"
  done
  COMPREPLY=($(compgen -W "\${_slipway_nodes[$path]}" -- "$cur"))
}
complete -F _slipway slipway
`;
}

export function zshCompletion(program: Command): string {
  const table = entries(program)
    .map(([path, words]) => `  '${path}' '${words}'`)
    .join('\n');
  return `#compdef slipway
# slipway completion for zsh: source <(slipway completion zsh), or save as _slipway in your $fpath
typeset -gA _slipway_nodes
_slipway_nodes=(
${table}
)
_slipway() {
  local path_="." w
  for w in "\${(@)words[2,CURRENT-1]}"; do
    [[ "$w" == -* ]] && continue
    (( \${+_slipway_nodes[$path_ $w]} )) && path_="$path_ $w"
  done
  compadd -- \${=_slipway_nodes[$path_]}
}
compdef _slipway slipway
`;
}

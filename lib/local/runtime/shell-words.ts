/**
 * Split a command line into words the way a POSIX shell would for a simple command (quotes and
 * backslashes, no expansion): Convox runs `command:` as the container's args, not through a shell.
 */
import { SlipwayError } from '../../errors';

export class CommandSyntaxError extends SlipwayError {
  constructor(command: string, problem: string) {
    super(`cannot split the command "${command}": ${problem}`, 'COMMAND_SYNTAX', { command });
  }
}

export function shellWords(command: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command.charAt(i);
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
      continue;
    }
    if (c === '\\') {
      const next = command.charAt(i + 1);
      if (i + 1 >= command.length) throw new CommandSyntaxError(command, 'it ends with a backslash');
      // Inside double quotes a backslash only escapes what the shell would: $ ` " \ and newline.
      if (quote === '"' && !'$`"\\\n'.includes(next)) word += c;
      if (next !== '\n') word += next;
      i++;
      inWord = true;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      else word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new CommandSyntaxError(command, `a ${quote} quote is not closed`);
  if (inWord) words.push(word);
  return words;
}

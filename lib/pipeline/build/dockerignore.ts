/**
 * `.dockerignore`, as Docker reads it: one pattern per line, `#` comments, `!` re-includes, `*`
 * and `?` within a path segment, `**` across segments, and a pattern that matches a folder
 * excluding everything in it. The last pattern that matches a path decides.
 */

interface Pattern {
  readonly regex: RegExp;
  readonly exclusion: boolean;
  readonly source: string;
}

/** Clean a path as Go's filepath.Clean does for relative paths, without a leading slash. */
export function cleanPath(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

function toRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '*') {
      if (pattern.charAt(i + 1) === '*') {
        i++;
        // `**/` matches zero or more folders; a trailing `**` matches everything below.
        if (pattern.charAt(i + 1) === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        let cls = pattern.slice(i + 1, end);
        if (cls.startsWith('^')) cls = `^${cls.slice(1)}`;
        re += `[${cls.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) {
      i++;
      re += pattern.charAt(i).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export class DockerIgnore {
  private readonly patterns: Pattern[];

  constructor(text: string) {
    this.patterns = [];
    for (const raw of text.split(/\r?\n/)) {
      let line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      let exclusion = false;
      if (line.startsWith('!')) {
        exclusion = true;
        line = line.slice(1).trim();
      }
      const cleaned = cleanPath(line);
      if (cleaned === '') continue;
      this.patterns.push({ regex: toRegex(cleaned), exclusion, source: raw.trim() });
    }
  }

  /** Whether any `!` pattern exists (then an ignored folder must still be searched for re-included files). */
  get hasExclusions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }

  /** Whether the path (relative to the build context, `/`-separated) is left out of the context. */
  ignores(path: string): boolean {
    const clean = cleanPath(path);
    const parents: string[] = [];
    const parts = clean.split('/');
    for (let i = 1; i < parts.length; i++) parents.push(parts.slice(0, i).join('/'));
    let ignored = false;
    for (const p of this.patterns) {
      const matches = p.regex.test(clean) || parents.some((parent) => p.regex.test(parent));
      if (matches) ignored = !p.exclusion;
    }
    return ignored;
  }
}

/**
 * The API server's rules for names, labels and keys, which the OpenAPI schema does not state:
 * an object the schema accepts can still be refused on apply for a name one character too long.
 */

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

export type NameRule = 'dns-label' | 'dns-subdomain' | 'dns-1035-label';

/** What is wrong with `name` under `rule`, or undefined when it is fine. */
export function nameProblem(name: string, rule: NameRule): string | undefined {
  switch (rule) {
    case 'dns-label':
      if (name.length > 63) return `"${name}" is ${name.length} characters long; at most 63 are allowed (DNS-1123 label)`;
      if (!LABEL.test(name)) return `"${name}" must be lower-case letters, digits and '-', starting and ending with a letter or digit (DNS-1123 label)`;
      return undefined;
    case 'dns-1035-label':
      if (name.length > 63) return `"${name}" is ${name.length} characters long; at most 63 are allowed (DNS-1035 label)`;
      if (!DNS1035.test(name)) return `"${name}" must be lower-case letters, digits and '-', starting with a letter and ending with a letter or digit (DNS-1035 label)`;
      return undefined;
    case 'dns-subdomain':
      if (name.length > 253) return `"${name}" is ${name.length} characters long; at most 253 are allowed (DNS-1123 subdomain)`;
      if (!SUBDOMAIN.test(name)) return `"${name}" must be lower-case letters, digits, '-' and '.', each part starting and ending with a letter or digit (DNS-1123 subdomain)`;
      return undefined;
  }
}

/** A label or annotation key: an optional DNS subdomain prefix and `/`, then a name of at most 63 characters. */
export function keyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined) {
    const problem = prefix === '' ? 'the prefix before "/" is empty' : nameProblem(prefix, 'dns-subdomain');
    if (problem) return `key "${key}": prefix ${problem}`;
  }
  if (name.length === 0) return `key "${key}" has an empty name`;
  if (name.length > 63) return `key "${key}": the name after the prefix is ${name.length} characters long; at most 63 are allowed`;
  if (!QUALIFIED_NAME.test(name)) return `key "${key}" must be letters, digits, '-', '_' and '.', starting and ending with a letter or digit`;
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63) return `value "${value}" is ${value.length} characters long; at most 63 are allowed`;
  if (!QUALIFIED_NAME.test(value)) return `value "${value}" must be letters, digits, '-', '_' and '.', starting and ending with a letter or digit`;
  return undefined;
}

/** A Secret or ConfigMap key (it becomes a file name or a variable name). */
export function configKeyProblem(key: string): string | undefined {
  if (key.length > 253) return `key "${key}" is ${key.length} characters long; at most 253 are allowed`;
  if (!CONFIG_KEY.test(key)) return `key "${key}" must be letters, digits, '-', '_' and '.'`;
  return undefined;
}

/** A container port's name (IANA service name): at most 15 characters, with a letter, no "--". */
export function portNameProblem(name: string): string | undefined {
  if (name.length > 15) return `"${name}" is ${name.length} characters long; at most 15 are allowed`;
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name) || name.includes('--') || !/[a-z]/.test(name)) {
    return `"${name}" must be lower-case letters, digits and '-', with at least one letter and no "--"`;
  }
  return undefined;
}

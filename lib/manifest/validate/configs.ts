import type { Manifest } from '../types';
import type { Finding } from './finding';

/** Top-level `configs`: only the first entry without an id is reported, as Convox does. */
export function validateConfigs(m: Manifest): Finding[] {
  const index = (m.configs ?? []).findIndex((c) => (c.id ?? '') === '');
  if (index < 0) return [];
  return [{ message: 'configs[*].id is required', path: `configs[${index}]`, hint: 'give every config an id, which configMounts refer to' }];
}

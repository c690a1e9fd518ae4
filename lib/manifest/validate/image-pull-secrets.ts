import type { ImagePullSecret } from '../types';

const REGISTRY_HOST = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:[0-9]+)?$/;

/** The first problem of one imagePullSecrets entry. */
export function imagePullSecretProblem(s: ImagePullSecret): string | undefined {
  const registry = s.registry ?? '';
  const q = JSON.stringify(registry);
  if (registry.trim() === '') return 'registry is required';
  if (registry.includes('://')) return `registry ${q} must not include a scheme (drop http:// or https://)`;
  if (registry.includes('/')) return `registry ${q} must not include a path (use the host only)`;
  if (registry !== registry.toLowerCase()) return `registry ${q} must be lowercase`;
  if (!REGISTRY_HOST.test(registry)) return `registry ${q} is not a valid registry hostname`;
  if ((s.username ?? '').trim() === '') return 'username is required';
  const password = (s.password ?? '') !== '';
  const passwordEnv = (s.passwordEnv ?? '') !== '';
  if (password && passwordEnv) return 'use passwordEnv to reference an env var, OR password for a literal value, not both';
  if (!password && !passwordEnv) return 'password or passwordEnv is required';
  return undefined;
}

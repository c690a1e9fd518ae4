import type { SecurityContext } from '../types';

const CAPABILITY = /^[A-Z][A-Z0-9_]*$/;

function capabilityProblem(c: string): string | undefined {
  if (c.startsWith('CAP_')) return `${JSON.stringify(c)} must not include CAP_ prefix (use ${JSON.stringify(c.slice(4))})`;
  if (!CAPABILITY.test(c)) return `${JSON.stringify(c)} is not a valid capability name (expected uppercase letters, digits, underscores)`;
  return undefined;
}

/** The first problem of a service's securityContext, as Convox reports only one. */
export function securityContextProblem(s: SecurityContext | undefined): string | undefined {
  if (!s) return undefined;
  const seccomp = s.seccompProfile ?? '';
  if (seccomp !== '' && seccomp !== 'RuntimeDefault' && seccomp !== 'Unconfined') {
    if (seccomp === 'Localhost') return 'securityContext.seccompProfile: Localhost is not supported (no localhostProfile field); use RuntimeDefault or Unconfined';
    return `securityContext.seccompProfile: ${JSON.stringify(seccomp)} is not a supported value; allowed: RuntimeDefault, Unconfined`;
  }
  for (const c of s.capabilities?.add ?? []) {
    const p = capabilityProblem(c);
    if (p) return `securityContext.capabilities.add: ${p}`;
  }
  for (const c of s.capabilities?.drop ?? []) {
    const p = capabilityProblem(c);
    if (p) return `securityContext.capabilities.drop: ${p}`;
  }
  if (s.runAsNonRoot === true && s.runAsUser === 0) return 'securityContext: runAsNonRoot=true is incompatible with runAsUser=0';
  return undefined;
}

import type { Manifest } from '../types';
import type { Finding } from './finding';
import { NAME, NAME_RULE, nameList, suggestName } from './finding';
import { imagePullSecretProblem } from './image-pull-secrets';
import { validateScale } from './scale';
import { securityContextProblem } from './security-context';
import { volumeOptionProblem } from './volume-options';

/** Per-service checks, in Convox's order for each service. */
export function validateServices(m: Manifest): { errors: Finding[]; warnings: Finding[] } {
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  const configIds = new Set((m.configs ?? []).map((c) => c.id ?? ''));
  const resourceNames = m.resources.map((r) => r.name);
  const resources = new Set(resourceNames);
  for (const s of m.services) {
    const at = `services.${s.name}`;
    if (!NAME.test(s.name)) errors.push({ message: `service name ${s.name} invalid, ${NAME_RULE}`, path: at, hint: `rename it, e.g. ${suggestName(s.name)}` });
    const { minimum, maximum } = s.deployment;
    if (minimum < 0) errors.push({ message: `service ${s.name} deployment minimum can not be less than 0`, path: `${at}.deployment.minimum`, hint: 'use a percentage from 0 to 100' });
    if (minimum > 100) errors.push({ message: `service ${s.name} deployment minimum can not be greater than 100`, path: `${at}.deployment.minimum`, hint: 'use a percentage from 0 to 100' });
    if (maximum < 100) errors.push({ message: `service ${s.name} deployment maximum can not be less than 100`, path: `${at}.deployment.maximum`, hint: 'use a percentage from 100 to 200' });
    if (maximum > 200) errors.push({ message: `service ${s.name} deployment maximum can not be greater than 200`, path: `${at}.deployment.maximum`, hint: 'use a percentage from 100 to 200' });
    if (s.internal && s.internalRouter) {
      errors.push({ message: `service ${s.name} can not have both internal and internalRouter set as true`, path: `${at}.internalRouter`, hint: 'internal keeps it inside the rack; internalRouter exposes it on the internal load balancer: choose one' });
    }
    s.resources.forEach((r, i) => {
      const name = r.split(':')[0] ?? '';
      if (!resources.has(name)) {
        errors.push({
          message: `service ${s.name} references a resource that does not exist: ${name}`,
          path: `${at}.resources[${i}]`,
          hint: m.resources.length > 0 ? `resources here: ${nameList(resourceNames)}` : `declare it under resources:, e.g.\n    resources:\n      ${name}:\n        type: postgres`,
        });
      }
    });
    (s.volumeOptions ?? []).forEach((v, i) => {
      const problem = volumeOptionProblem(v);
      if (problem) errors.push({ message: problem, path: `${at}.volumeOptions[${i}]` });
    });
    const sc = securityContextProblem(s.securityContext);
    if (sc) errors.push({ message: `service ${s.name}: ${sc}`, path: `${at}.securityContext` });
    const seen = new Map<string, number>();
    (s.imagePullSecrets ?? []).forEach((secret, i) => {
      const path = `${at}.imagePullSecrets[${i}]`;
      const problem = imagePullSecretProblem(secret);
      if (problem) {
        errors.push({ message: `service ${s.name} imagePullSecrets[${i}]: ${problem}`, path });
        return;
      }
      const key = (secret.registry ?? '').toLowerCase();
      const previous = seen.get(key);
      if (previous !== undefined) {
        errors.push({
          message: `service ${s.name} imagePullSecrets[${i}]: duplicate registry ${JSON.stringify(secret.registry ?? '')} (also declared at index ${previous}); each registry may be declared at most once per service`,
          path,
        });
        return;
      }
      seen.set(key, i);
    });
    (s.configMounts ?? []).forEach((cm, i) => {
      const path = `${at}.configMounts[${i}]`;
      if ((cm.id ?? '') === '') errors.push({ message: 'configMounts[*].id is required', path });
      else if ((cm.dir ?? '') === '') errors.push({ message: 'configMounts[*].dir is required', path });
      else if ((cm.filename ?? '') === '') errors.push({ message: 'configMounts[*].filename is required', path });
      if (!configIds.has(cm.id ?? '')) errors.push({ message: `config id: '${cm.id ?? ''}' not found`, path, hint: 'declare it in the top-level configs list' });
    });
    const scale = validateScale(s);
    errors.push(...scale.errors);
    warnings.push(...scale.warnings);
  }
  return { errors, warnings };
}

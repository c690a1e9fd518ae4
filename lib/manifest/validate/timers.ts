import type { Manifest } from '../types';
import type { Finding } from './finding';
import { NAME, NAME_RULE, nameList, suggestName } from './finding';

export function validateTimers(m: Manifest): Finding[] {
  const out: Finding[] = [];
  const serviceNames = m.services.map((s) => s.name);
  const services = new Set(serviceNames);
  for (const t of m.timers) {
    const at = `timers.${t.name}`;
    if (!NAME.test(t.name)) out.push({ message: `timer name ${t.name} invalid, ${NAME_RULE}`, path: at, hint: `rename it, e.g. ${suggestName(t.name)}` });
    if (!services.has(t.service)) {
      out.push({
        message: `timer ${t.name} references a service that does not exist: ${t.service}`,
        path: `${at}.service`,
        hint: t.service === '' ? 'set service: to the service whose image runs the command' : `services here: ${nameList(serviceNames)}`,
      });
    }
    if (t.schedule.includes('?')) out.push({ message: `timer ${t.name} invalid, schedule cannot contain ?`, path: `${at}.schedule`, hint: 'use * for "any" in a cron field' });
  }
  return out;
}

import type { Manifest } from '../types';
import type { Finding } from './finding';
import { NAME, NAME_RULE, suggestName } from './finding';

export function validateTimers(m: Manifest): Finding[] {
  const out: Finding[] = [];
  for (const t of m.timers) {
    const at = `timers.${t.name}`;
    if (!NAME.test(t.name)) out.push({ message: `timer name ${t.name} invalid, ${NAME_RULE}`, path: at, hint: `rename it, e.g. ${suggestName(t.name)}` });
    if (!m.services.some((s) => s.name === t.service)) {
      out.push({
        message: `timer ${t.name} references a service that does not exist: ${t.service}`,
        path: `${at}.service`,
        hint: t.service === '' ? 'set service: to the service whose image runs the command' : `services here: ${m.services.map((s) => s.name).join(', ') || '(none)'}`,
      });
    }
    if (t.schedule.includes('?')) out.push({ message: `timer ${t.name} invalid, schedule cannot contain ?`, path: `${at}.schedule`, hint: 'use * for "any" in a cron field' });
  }
  return out;
}

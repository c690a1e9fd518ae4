import type { Manifest } from '../types';
import type { Finding } from './finding';
import { NAME, NAME_RULE, suggestName } from './finding';

export function validateResources(m: Manifest): Finding[] {
  const out: Finding[] = [];
  for (const r of m.resources) {
    if (!NAME.test(r.name)) out.push({ message: `resource name ${r.name} invalid, ${NAME_RULE}`, path: `resources.${r.name}`, hint: `rename it, e.g. ${suggestName(r.name)}` });
    if (r.type.trim() === '') {
      out.push({ message: `resource ${JSON.stringify(r.name)} has blank type`, path: `resources.${r.name}`, hint: 'set type: to postgres, mysql, mariadb, redis, memcached, or an rds-/elasticache- type' });
    }
  }
  return out;
}

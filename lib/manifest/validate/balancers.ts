import type { Manifest } from '../types';
import type { Finding } from './finding';
import { nameList } from './finding';
import { isValidCidr } from './go-parsers';

export function validateBalancers(m: Manifest): Finding[] {
  const out: Finding[] = [];
  const serviceNames = m.services.map((s) => s.name);
  const services = new Set(serviceNames);
  for (const b of m.balancers) {
    const at = `balancers.${b.name}`;
    if (b.ports.length === 0) out.push({ message: `balancer ${b.name} has no ports`, path: at, hint: 'add ports: {LISTEN_PORT: CONTAINER_PORT}, e.g. ports: {443: 3000}' });
    if (b.service === '') out.push({ message: `balancer ${b.name} has blank service`, path: at, hint: 'set service: to the service that receives the traffic' });
    else if (!services.has(b.service)) {
      out.push({ message: `balancer ${b.name} refers to unknown service ${b.service}`, path: `${at}.service`, hint: `services here: ${nameList(serviceNames)}` });
    }
    (b.whitelist ?? []).forEach((w, i) => {
      if (!isValidCidr(w)) {
        out.push({ message: `balancer ${b.name} whitelist ${w} is not a valid cidr range`, path: `${at}.whitelist[${i}]`, hint: /^[0-9.]+$/.test(w) ? `a single address needs a prefix length: ${w}/32` : 'write a CIDR range such as 10.0.0.0/8' });
      }
    });
  }
  return out;
}

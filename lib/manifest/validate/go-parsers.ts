/**
 * The few Go parsers Convox's validation relies on, so that we accept and reject exactly the
 * same values: net.ParseCIDR, time.ParseDuration, url.Parse and Kubernetes' ParseQuantity.
 */
import { isIPv6 } from 'node:net';

/** `net.ParseCIDR`: an IPv4 or IPv6 address, a slash and a prefix length; a bare IP fails. */
export function isValidCidr(value: string): boolean {
  const slash = value.indexOf('/');
  if (slash < 0) return false;
  const ip = value.slice(0, slash);
  const bits = value.slice(slash + 1);
  if (!/^[0-9]+$/.test(bits) || bits.length > 3) return false;
  const n = Number(bits);
  if (/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(ip)) {
    const octets = ip.split('.');
    // Go refuses leading zeros in IPv4 octets (they look like octal).
    if (octets.some((o) => Number(o) > 255 || (o.length > 1 && o.startsWith('0')))) return false;
    return n <= 32;
  }
  if (ip.includes(':') && isIPv6(ip) && !ip.includes('%')) return n <= 128;
  return false;
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** `time.ParseDuration`, in nanoseconds, or undefined when Go would fail to parse it. */
export function parseGoDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s.startsWith('-')) sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  while (s !== '') {
    const m = /^([0-9]*(?:\.[0-9]*)?)([^0-9.]+)/.exec(s);
    if (!m || m[1] === undefined || m[2] === undefined || m[1] === '' || m[1] === '.') return undefined;
    const unit = UNITS[m[2]];
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
    s = s.slice(m[0].length);
  }
  return sign * total;
}

export type UrlParse = { scheme: string; host: string } | { error: string };

/** The parts of Go's `url.Parse` that the Prometheus URL check looks at. */
export function parseGoUrl(raw: string): UrlParse {
  if ([...raw].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return { error: `parse ${JSON.stringify(raw)}: net/url: invalid control character in URL` };
  let scheme = '';
  let rest = raw;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charAt(i);
    if (/[A-Za-z]/.test(c)) continue;
    if (/[0-9+.-]/.test(c)) {
      if (i === 0) break;
      continue;
    }
    if (c === ':') {
      if (i === 0) return { error: `parse ${JSON.stringify(raw)}: missing protocol scheme` };
      scheme = raw.slice(0, i).toLowerCase();
      rest = raw.slice(i + 1);
    }
    break;
  }
  rest = rest.split('#')[0] ?? '';
  rest = rest.split('?')[0] ?? '';
  if (!rest.startsWith('//')) return { scheme, host: '' };
  const authority = rest.slice(2).split('/')[0] ?? '';
  const host = authority.includes('@') ? authority.slice(authority.lastIndexOf('@') + 1) : authority;
  const port = /:([^\]]*)$/.exec(host.startsWith('[') ? host.slice(host.indexOf(']') + 1) : host);
  if (port && port[1] !== undefined && !/^[0-9]*$/.test(port[1])) return { error: `parse ${JSON.stringify(raw)}: invalid port ${JSON.stringify(`:${port[1]}`)} after host` };
  return { scheme, host };
}

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** Kubernetes' `resource.ParseQuantity` (e.g. `1Gi`, `500m`, `1e3`): the value, or the error text. */
export function parseQuantity(text: string): { value: number } | { error: string } {
  const m = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/.exec(text);
  if (!m || m[1] === undefined || m[2] === undefined) {
    return { error: "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'" };
  }
  const number = m[1];
  const suffix = m[2];
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(number)) return { error: 'unable to parse numeric part of quantity' };
  let multiplier: number | undefined = BINARY[suffix] ?? DECIMAL[suffix];
  if (multiplier === undefined) {
    const exp = /^[eE]([+-]?[0-9]+)$/.exec(suffix);
    if (exp?.[1] !== undefined) multiplier = 10 ** Number(exp[1]);
  }
  if (multiplier === undefined) return { error: "unable to parse quantity's suffix" };
  return { value: Number(number) * multiplier };
}

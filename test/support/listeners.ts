/**
 * Where a TCP port listens, as the kernel says (Linux's /proc/net/tcp and tcp6), and whether it
 * answers on this machine's other addresses: for checks that a server is on loopback only.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';

/** The local addresses with a socket listening on `port` (`127.0.0.1`, `0.0.0.0`, `::`, ...). */
export function listeningAddresses(port: number): string[] {
  const out: string[] = [];
  for (const [file, v6] of [['/proc/net/tcp', false], ['/proc/net/tcp6', true]] as const) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const row of text.split('\n').slice(1)) {
      const [, local, , state] = row.trim().split(/\s+/);
      // 0A is TCP_LISTEN.
      if (!local || state !== '0A') continue;
      const [addressHex, portHex] = local.split(':');
      if (!addressHex || Number.parseInt(portHex ?? '', 16) !== port) continue;
      out.push(v6 ? ipv6(addressHex) : ipv4(addressHex));
    }
  }
  return out;
}

/** /proc writes an IPv4 address as one little-endian 32-bit word. */
function ipv4(hex: string): string {
  return [6, 4, 2, 0].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)).join('.');
}

/** ... and an IPv6 address as four little-endian 32-bit words. */
function ipv6(hex: string): string {
  const bytes: number[] = [];
  for (let word = 0; word < 4; word++) for (const i of [6, 4, 2, 0]) bytes.push(Number.parseInt(hex.slice(word * 8 + i, word * 8 + i + 2), 16));
  const groups = Array.from({ length: 8 }, (_, g) => (((bytes[g * 2] ?? 0) << 8) | (bytes[g * 2 + 1] ?? 0)).toString(16));
  const text = groups.join(':');
  return text === '0:0:0:0:0:0:0:0' ? '::' : text;
}

/** This machine's addresses other than loopback (IPv4), where a loopback-only server must not answer. */
export function externalAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal && a.family === 'IPv4')
    .map((a) => (a as { address: string }).address);
}

/** Whether a TCP connection to host:port is accepted (within a second). */
export function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

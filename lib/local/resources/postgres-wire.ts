/**
 * Just enough of the PostgreSQL wire protocol to know a server is ready for the app: it accepts
 * a connection to database `app`, authenticates user `app` with the password (SCRAM-SHA-256,
 * MD5, cleartext, or trust as PGlite does), and reaches ReadyForQuery. The `pg` package is a
 * development dependency only, so the rack does not depend on it.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { connect } from 'node:net';
import type { Probe } from './engine';

export interface PostgresProbeTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly password: string;
  readonly timeoutMs?: number;
}

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

const cstring = (s: string) => Buffer.from(`${s}\0`, 'utf8');

function startupMessage(user: string, database: string): Buffer {
  const body = Buffer.concat([Buffer.from([0, 3, 0, 0]), cstring('user'), cstring(user), cstring('database'), cstring(database), Buffer.from([0])]);
  const length = Buffer.alloc(4);
  length.writeInt32BE(body.length + 4);
  return Buffer.concat([length, body]);
}

/** The fields of an ErrorResponse: code (C) and message (M). */
function errorFields(body: Buffer): { code: string; message: string } {
  const fields: Record<string, string> = {};
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const key = String.fromCharCode(body[at] ?? 0);
    const end = body.indexOf(0, at + 1);
    fields[key] = body.toString('utf8', at + 1, end < 0 ? body.length : end);
    at = end < 0 ? body.length : end + 1;
  }
  return { code: fields.C ?? '', message: fields.M ?? 'unknown error' };
}

/** SCRAM-SHA-256 as PostgreSQL speaks it (RFC 7677; the user name comes from the startup message). */
class Scram {
  private readonly nonce = randomBytes(18).toString('base64');
  private serverSignature: Buffer | undefined;

  constructor(private readonly password: string) {}

  private get clientFirstBare(): string {
    return `n=,r=${this.nonce}`;
  }

  initial(): Buffer {
    const data = Buffer.from(`n,,${this.clientFirstBare}`, 'utf8');
    const length = Buffer.alloc(4);
    length.writeInt32BE(data.length);
    return message('p', Buffer.concat([cstring('SCRAM-SHA-256'), length, data]));
  }

  /** The client's final message for the server's first one; undefined if the server's is malformed. */
  final(serverFirst: string): Buffer | undefined {
    const attrs = new Map(serverFirst.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)] as const));
    const nonce = attrs.get('r');
    const salt = attrs.get('s');
    const iterations = Number(attrs.get('i'));
    if (!nonce?.startsWith(this.nonce) || salt === undefined || !Number.isInteger(iterations) || iterations < 1) return undefined;
    const salted = pbkdf2Sync(this.password, Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    const storedKey = createHash('sha256').update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = createHmac('sha256', storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ (clientSignature[i] ?? 0)));
    const serverKey = createHmac('sha256', salted).update('Server Key').digest();
    this.serverSignature = createHmac('sha256', serverKey).update(authMessage).digest();
    return message('p', Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8'));
  }

  verify(serverFinal: string): boolean {
    const v = serverFinal.split(',').find((kv) => kv.startsWith('v='));
    if (!v || !this.serverSignature) return false;
    const got = Buffer.from(v.slice(2), 'base64');
    return got.length === this.serverSignature.length && timingSafeEqual(got, this.serverSignature);
  }
}

/** Connect, authenticate, and wait for ReadyForQuery; never throws. */
export function probePostgres(target: PostgresProbeTarget): Promise<Probe> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    let settled = false;
    const done = (probe: Probe) => {
      if (settled) return;
      settled = true;
      if (probe.ok) socket.end(message('X', Buffer.alloc(0)));
      else socket.destroy();
      resolve(probe);
    };
    socket.setTimeout(target.timeoutMs ?? 5_000, () => done({ ok: false, reason: 'no answer' }));
    socket.on('error', (error: NodeJS.ErrnoException) => done({ ok: false, reason: error.code === 'ECONNREFUSED' ? 'not listening yet' : (error.code ?? error.message) }));
    socket.on('close', () => done({ ok: false, reason: 'the server closed the connection' }));
    socket.on('connect', () => socket.write(startupMessage(target.user, target.database)));

    const scram = new Scram(target.password);
    let buffer = Buffer.alloc(0);
    const handle = (type: string, body: Buffer) => {
      if (type === 'E') {
        const { code, message: text } = errorFields(body);
        return done({ ok: false, reason: code === '57P03' ? 'starting up' : text });
      }
      if (type === 'Z') return done({ ok: true });
      if (type !== 'R') return;
      const kind = body.readInt32BE(0);
      if (kind === 0) return; // AuthenticationOk: ReadyForQuery follows.
      if (kind === 3) return void socket.write(message('p', cstring(target.password)));
      if (kind === 5) {
        const inner = createHash('md5').update(target.password + target.user).digest('hex');
        const outer = createHash('md5').update(inner).update(body.subarray(4, 8)).digest('hex');
        return void socket.write(message('p', cstring(`md5${outer}`)));
      }
      if (kind === 10) {
        const mechanisms = body.toString('utf8', 4).split('\0');
        if (!mechanisms.includes('SCRAM-SHA-256')) return done({ ok: false, reason: `unsupported authentication (${mechanisms.filter(Boolean).join(', ')})` });
        return void socket.write(scram.initial());
      }
      if (kind === 11) {
        const reply = scram.final(body.toString('utf8', 4));
        return reply ? void socket.write(reply) : done({ ok: false, reason: 'malformed SCRAM exchange' });
      }
      if (kind === 12) return scram.verify(body.toString('utf8', 4)) ? undefined : done({ ok: false, reason: 'the server failed SCRAM verification' });
      return done({ ok: false, reason: `unsupported authentication request ${kind}` });
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 5) {
        const length = buffer.readInt32BE(1);
        if (buffer.length < length + 1) break;
        const type = String.fromCharCode(buffer[0] ?? 0);
        const body = buffer.subarray(5, length + 1);
        buffer = buffer.subarray(length + 1);
        handle(type, body);
        if (settled) return;
      }
    });
  });
}

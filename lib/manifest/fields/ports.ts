/** The two port types of a service: `port` (with a scheme) and the items of `ports` (with a protocol). */
import type { Codec, DecodeContext } from '../decode/codec';
import { generic } from '../decode/codec';
import { DecodeAbort } from '../decode/session';
import type { PortProtocol, PortScheme } from '../types';
import type { GoValue } from '../yaml/go-value';
import { keyText, lookupKey, scalarText } from '../yaml/go-value';
import { goAtoi, goSprintS, goSprintV } from '../yaml/go-format';

function atoi(text: string, value: GoValue, ctx: DecodeContext, what: string): number {
  const parsed = goAtoi(text);
  if ('error' in parsed) {
    throw new DecodeAbort(parsed.error, value.pos, ctx.path, `write ${what}, e.g. 3000, "https:3000" or {port: 3000, scheme: https}`);
  }
  return parsed.value;
}

/** `"https:3000"` → scheme https, port 3000; `"3000"` → port 3000 (the scheme is left as it was). */
function parseSchemePort(text: string, value: GoValue, ctx: DecodeContext, into: PortScheme): void {
  const parts = text.split(':');
  let portText = parts[0] ?? '';
  if (parts.length > 1) {
    into.scheme = parts[0] ?? '';
    portText = parts[1] ?? '';
  }
  into.port = atoi(portText, value, ctx, 'the port as a number');
}


/**
 * `port`, `health.port`, `liveness.port`: an int, a `[scheme:]port` string, or `{port, scheme}`.
 * Convox's decoder writes into the existing value, so a later form keeps an earlier scheme.
 */
export const portScheme: Codec<PortScheme> = {
  goType: 'manifest.ServicePortScheme',
  decode(raw, ctx, previous) {
    const value = generic(raw, ctx);
    const out: PortScheme = { port: previous?.port ?? 0, ...(previous?.scheme !== undefined ? { scheme: previous.scheme } : {}) };
    switch (value.kind) {
      case 'map': {
        const port = lookupKey(value, 'port');
        if (port?.kind === 'int') out.port = port.value;
        else if (port?.kind === 'string') parseSchemePort(port.value, port, ctx, out);
        else if (port !== undefined && port.kind !== 'null') {
          throw new DecodeAbort(`could not parse port: ${goSprintS(value)}`, port.pos, ctx.path, 'port must be a number such as 3000');
        }
        const scheme = lookupKey(value, 'scheme');
        if (scheme !== undefined && scheme.kind !== 'null') {
          // Convox assumes a string here and crashes on anything else; we refuse it cleanly.
          if (scheme.kind !== 'string') {
            throw new DecodeAbort(`could not parse port: ${goSprintS(value)}`, scheme.pos, ctx.path, 'scheme must be a string such as http, https or grpc');
          }
          out.scheme = scheme.value;
        }
        if (out.port === 0) {
          throw new DecodeAbort(`could not parse port: ${goSprintV(value)}`, value.pos, ctx.path, 'give the port number, e.g. {port: 3000, scheme: https}');
        }
        for (const e of value.entries) {
          const k = keyText(e.key);
          if (k !== 'port' && k !== 'scheme') {
            ctx.session.warn('unknown-key', e.key.pos, `${ctx.path}.${k}`, `unknown key "${k}" in ${ctx.path} is ignored (Convox ignores it too); a port map takes only port and scheme`);
          }
        }
        break;
      }
      case 'string':
        parseSchemePort(value.value, value, ctx, out);
        break;
      case 'int':
        out.port = value.value;
        break;
      default:
        throw new DecodeAbort(`invalid port: ${goSprintS(value)}`, value.pos, ctx.path, 'write the port as a number, e.g. port: 3000');
    }
    if (out.scheme === 'grpc') out.scheme = 'GRPC';
    return out;
  },
  zero: () => undefined,
  schema: () => ({
    anyOf: [
      { type: 'integer', minimum: 0, maximum: 65535 },
      { type: 'string', pattern: '^([A-Za-z0-9]+:)?[0-9]+$|^\\$\\{[^}]*\\}$' },
      {
        type: 'object',
        properties: { port: { type: ['integer', 'string'] }, scheme: { type: 'string', examples: ['http', 'https', 'grpc'] } },
        required: ['port'],
        additionalProperties: false,
      },
    ],
  }),
};

/** An item of `ports`: `5000` (tcp), `"5000/udp"`, or `"5000"` (protocol left empty). */
export const portProtocol: Codec<PortProtocol> = {
  goType: 'manifest.ServicePortProtocol',
  decode(value, ctx, previous) {
    const out: PortProtocol = { port: previous?.port ?? 0, ...(previous?.protocol !== undefined ? { protocol: previous.protocol } : {}) };
    if (value.kind === 'string') {
      const parts = value.value.split('/');
      out.port = atoi(parts[0] ?? '', value, ctx, 'the port as a number, optionally with a protocol: 5000 or "5000/udp"');
      if (parts.length > 1) out.protocol = parts[1] ?? '';
      else ctx.session.warn('suspicious', value.pos, ctx.path, `${ctx.path}: a quoted port without "/protocol" gets an empty protocol in Convox (the unquoted form ${scalarText(value)} gets tcp)`);
      return out;
    }
    if (value.kind === 'int') {
      out.port = value.value;
      out.protocol = 'tcp';
      return out;
    }
    throw new DecodeAbort(`invalid port: ${goSprintS(value)}`, value.pos, ctx.path, 'list ports as numbers or "number/protocol" strings');
  },
  zero: () => ({ port: 0 }),
  schema: () => ({ anyOf: [{ type: 'integer' }, { type: 'string', pattern: '^[0-9]+(/(tcp|udp|TCP|UDP|sctp|SCTP))?$' }] }),
};

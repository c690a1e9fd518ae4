/**
 * A service's probes, Convox's way: only a service with a port has any. `health` is the
 * readiness probe (unless disabled), `liveness` the liveness probe, `startupProbe` the startup
 * probe; gRPC ports get gRPC probes when `grpcHealthEnabled`, and no HTTP probe otherwise.
 */
import type { Service } from '../../manifest';

type Probe = Record<string, unknown>;

export interface ServiceProbes {
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly startupProbe?: Probe;
}

/** Kubernetes takes HTTP or HTTPS here; anything else (`http`, a typo) probes over HTTP, as Convox's would try to. */
function httpScheme(scheme: string | undefined): string {
  return scheme?.toLowerCase() === 'https' ? 'HTTPS' : 'HTTP';
}

/** Probe timings; Kubernetes rejects zero for these fields, so a zero leaves Kubernetes' default. */
function timings(t: { grace?: number; interval?: number; timeout?: number; successThreshold?: number; failureThreshold?: number }): Probe {
  const positive = (n: number | undefined): number | undefined => (n !== undefined && n > 0 ? n : undefined);
  return {
    initialDelaySeconds: t.grace !== undefined && t.grace >= 0 ? t.grace : undefined,
    periodSeconds: positive(t.interval),
    timeoutSeconds: positive(t.timeout),
    successThreshold: positive(t.successThreshold),
    failureThreshold: positive(t.failureThreshold),
  };
}

export function serviceProbes(service: Service): ServiceProbes {
  const port = service.port;
  if (!port) return {};
  const grpc = port.scheme === 'GRPC';
  const out: { readinessProbe?: Probe; livenessProbe?: Probe; startupProbe?: Probe } = {};

  const startup = service.startupProbe;
  const startupPath = (startup?.path ?? '').trim();
  const startupTcp = Number((startup?.tcpSocketPort ?? '').trim());
  if (startup && (startupPath !== '' || startupTcp > 0)) {
    // A probe has one handler: the HTTP path when there is one, else the TCP port.
    const handler = startupPath !== '' ? { httpGet: { path: startup.path, port: port.port } } : { tcpSocket: { port: startupTcp } };
    // Kubernetes requires a startup probe's success threshold to be 1.
    out.startupProbe = { ...handler, ...timings({ ...startup, successThreshold: 1 }) };
  }

  if (grpc) {
    if (service.grpcHealthEnabled) {
      const health = service.health;
      const grpcTimings = timings({ grace: health.grace, interval: health.interval, timeout: health.timeout, successThreshold: 1, failureThreshold: 5 });
      out.readinessProbe = { grpc: { port: health.port?.port || port.port }, ...grpcTimings };
      out.livenessProbe = { grpc: { port: service.liveness?.port?.port || port.port }, ...grpcTimings };
    }
    return out;
  }

  const liveness = service.liveness;
  if (liveness && (liveness.path ?? '').trim() !== '' && liveness.port?.scheme !== 'GRPC') {
    const scheme = liveness.port?.scheme;
    out.livenessProbe = {
      httpGet: { path: liveness.path, port: liveness.port?.port || port.port, ...(scheme ? { scheme: httpScheme(scheme) } : {}) },
      ...timings(liveness),
    };
  }

  const health = service.health;
  if (!health.disable) {
    out.readinessProbe = {
      httpGet: { path: health.path, port: health.port?.port || port.port, scheme: httpScheme(health.port?.scheme ?? port.scheme) },
      ...timings({ grace: health.grace, interval: health.interval, timeout: health.timeout, successThreshold: 1, failureThreshold: 3 }),
    };
  }
  return out;
}

/**
 * The Ingress of a service reachable from outside the cluster: a service with a port that is not
 * `internal` gets one, with a rule per host (`<service>.<app>.<rack domain>` and each `domain`).
 * `internalRouter` services get `<service>-internal` with the rack's internal ingress class.
 *
 * With the `alb` class (the AWS Load Balancer Controller), the manifest's routing settings become
 * ALB annotations: `timeout` the idle timeout, `whitelist` the inbound CIDRs, `sticky` a load
 * balancer cookie, `tls.redirect` the HTTPS redirect, and the health path the target group's
 * check. Each such Ingress is its own ALB: a shared one (an ingress group) would force one idle
 * timeout on every service. ALB finds the ACM certificate of each TLS host itself; a
 * `certificate.id` that is an ARN names the certificate instead. With an nginx class, Convox's
 * nginx annotations are rendered; other classes get the rules, TLS and the user's annotations only.
 */
import type { Service } from '../../manifest';
import type { KubernetesObject } from '../objects';
import type { AppContext } from './common';
import { RenderError, slipwayLabels, sortedRecord } from './common';

function albAnnotations(service: Service, internal: boolean, tls: boolean): Record<string, string> {
  const port = service.port;
  const out: Record<string, string> = {
    'alb.ingress.kubernetes.io/scheme': internal ? 'internal' : 'internet-facing',
    // Pods are the targets (ClusterIP Services have no node ports).
    'alb.ingress.kubernetes.io/target-type': 'ip',
    'alb.ingress.kubernetes.io/listen-ports': tls ? '[{"HTTP":80},{"HTTPS":443}]' : '[{"HTTP":80}]',
    'alb.ingress.kubernetes.io/load-balancer-attributes': `idle_timeout.timeout_seconds=${service.timeout}`,
  };
  if (tls && service.tls.redirect) out['alb.ingress.kubernetes.io/ssl-redirect'] = '443';
  if (port?.scheme === 'https') out['alb.ingress.kubernetes.io/backend-protocol'] = 'HTTPS';
  if (port?.scheme === 'GRPC') out['alb.ingress.kubernetes.io/backend-protocol-version'] = 'GRPC';
  else {
    out['alb.ingress.kubernetes.io/healthcheck-path'] = service.health.path;
    out['alb.ingress.kubernetes.io/success-codes'] = '200-399';
  }
  const cidrs = (service.whitelist ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  if (cidrs.length > 0) out['alb.ingress.kubernetes.io/inbound-cidrs'] = cidrs.join(',');
  if (service.sticky) out['alb.ingress.kubernetes.io/target-group-attributes'] = 'stickiness.enabled=true,stickiness.type=lb_cookie';
  if (service.certificate?.id?.startsWith('arn:')) out['alb.ingress.kubernetes.io/certificate-arn'] = service.certificate.id;
  return out;
}

function nginxAnnotations(service: Service): Record<string, string> {
  const timeout = String(service.timeout);
  const out: Record<string, string> = {
    'nginx.ingress.kubernetes.io/backend-protocol': service.port?.scheme ?? 'http',
    'nginx.ingress.kubernetes.io/proxy-connect-timeout': timeout,
    'nginx.ingress.kubernetes.io/proxy-read-timeout': timeout,
    'nginx.ingress.kubernetes.io/proxy-send-timeout': timeout,
    'nginx.ingress.kubernetes.io/ssl-redirect': String(service.tls.redirect),
  };
  if (service.sticky) {
    out['nginx.ingress.kubernetes.io/affinity'] = 'cookie';
    out['nginx.ingress.kubernetes.io/session-cookie-name'] = 'CONVOXSESSION';
  }
  if (service.whitelist) out['nginx.ingress.kubernetes.io/whitelist-source-range'] = service.whitelist;
  return out;
}

/** The Ingress of `service`, or undefined when it has none (no port, or `internal`). */
export function renderIngress(ctx: AppContext, service: Service, release: string): KubernetesObject | undefined {
  const port = service.port;
  if (!port || service.internal) return undefined;
  const internal = service.internalRouter;
  const ingressClass = internal ? ctx.rack.internalIngressClass : (ctx.rack.ingressClass ?? 'alb');
  if (!ingressClass) {
    throw new RenderError(`service ${service.name} has internalRouter: true, but the rack has no internal ingress class: set the rack's internalIngressClass, or remove internalRouter`, 'INTERNAL_ROUTER_MISSING', { service: service.name });
  }
  const defaultHost = !internal && ctx.rack.domain ? `${service.name}.${ctx.app}.${ctx.rack.domain}` : undefined;
  const hosts = [...(defaultHost ? [defaultHost] : []), ...service.domain.filter((d) => d !== defaultHost)];
  const backend = { service: { name: service.name, port: { number: port.port } } };
  const http = { paths: [{ path: '/', pathType: 'Prefix', backend }] };
  // Without a host (no rack domain and no `domain`), one rule takes every request the load balancer gets.
  const rules = hosts.length > 0 ? hosts.map((host) => ({ host, http })) : [{ http }];

  const alb = ingressClass === 'alb';
  let tls: Record<string, unknown>[] = [];
  if (alb) {
    if (hosts.length > 0) tls = [{ hosts }];
  } else {
    const certificate = service.certificate?.id;
    if (defaultHost) tls.push({ hosts: [defaultHost], secretName: certificate || `cert-${service.name}` });
    const domains = hosts.filter((h) => h !== defaultHost);
    if (domains.length > 0) tls.push({ hosts: domains, secretName: certificate || `cert-${service.name}-domains` });
  }

  const user: Record<string, string> = {};
  for (const a of service.ingressAnnotations ?? []) user[a.key] = a.value;
  const annotations = sortedRecord({
    ...(alb ? albAnnotations(service, internal, tls.length > 0) : {}),
    ...(ingressClass.includes('nginx') ? nginxAnnotations(service) : {}),
    ...user,
  });

  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: internal ? `${service.name}-internal` : service.name,
      namespace: ctx.namespace,
      labels: slipwayLabels({ app: ctx.app, service: service.name, release }),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: { ingressClassName: ingressClass, ...(tls.length > 0 ? { tls } : {}), rules },
  };
}

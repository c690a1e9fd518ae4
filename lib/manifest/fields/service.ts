/** `services.<name>`: every key Convox reads, with the decoder and the documentation of each. */
import type { Codec } from '../decode/codec';
import { childContext, field, generic, goBool, goInt, goInt64, goString, list, pointer, stringList, stringMap, struct, warnIgnored, warnUnknownKey } from '../decode/codec';
import { DecodeAbort } from '../decode/session';
import type {
  AccessControl,
  AwsPodIdentity,
  Capabilities,
  ImagePullSecret,
  NodeAffinityLabel,
  SecurityContext,
  ServiceAgent,
  ServiceBuild,
  ServiceCertificate,
  ServiceDeployment,
  ServiceDnsConfig,
  ServiceFields,
  ServiceHealth,
  ServiceInitContainer,
  ServiceLifecycle,
  ServiceLiveness,
  ServiceStartupProbe,
  ServiceTermination,
  ServiceTls,
} from '../types';
import { goSprintV, goTypeName } from '../yaml/go-format';
import { keyText, remarshal } from '../yaml/go-value';
import { annotations, configMounts, volumeOptions } from './common';
import { portProtocol, portScheme } from './ports';
import { serviceScale } from './scale';

/** `agent: true` runs the service as a DaemonSet; only a boolean is accepted. */
const agent: Codec<ServiceAgent> = {
  goType: 'manifest.ServiceAgent',
  decode(raw, ctx) {
    const value = generic(raw, ctx);
    if (value.kind === 'bool') return { enabled: value.value };
    if (value.kind === 'map') {
      throw new DecodeAbort('agent ports are now specified at the service level', value.pos, ctx.path, 'write agent: true and move its ports to the service\u2019s ports list');
    }
    throw new DecodeAbort(`could not parse agent: ${goSprintV(value)}`, value.pos, ctx.path, 'write agent: true or agent: false (without quotes)');
  },
  zero: () => ({ enabled: false }),
  schema: () => ({ type: 'boolean' }),
};

const buildFields = struct<ServiceBuild>(
  'manifest.serviceBuild',
  {
    path: field(goString, 'Directory of the build context, relative to convox.yml.', { default: '.' }),
    manifest: field(goString, 'Dockerfile name, relative to the build path.', { default: 'Dockerfile' }),
    args: field(stringList, 'Build arguments (recorded in the build hash; values come from the app environment).'),
  },
  { defName: 'buildMap' },
);

/** `build: ./dir` or `build: {path, manifest, args}`. */
const build: Codec<ServiceBuild> = {
  goType: 'manifest.ServiceBuild',
  decode(raw, ctx, previous) {
    const value = generic(raw, ctx);
    if (value.kind === 'string') return { ...(previous ?? {}), path: value.value };
    if (value.kind === 'map') {
      const r = buildFields.decode(remarshal(value), ctx, undefined);
      return { path: r.path ?? '', manifest: r.manifest ?? '', ...(r.args ? { args: r.args } : {}) };
    }
    throw new DecodeAbort(`unknown type for service build: ${goTypeName(value)}`, value.pos, ctx.path, 'write build: ./path or build: {path: ./path, manifest: Dockerfile}');
  },
  zero: () => ({}),
  schema: (r) => ({ anyOf: [{ type: 'string', description: 'Directory of the build context.' }, buildFields.schema(r)] }),
};

/** `domain: a.com, b.com` or a list; items are trimmed and empty ones dropped. */
const domain: Codec<string[]> = {
  goType: 'manifest.ServiceDomains',
  decode(raw, ctx, previous) {
    const value = generic(raw, ctx);
    const out = [...(previous ?? [])];
    if (value.kind === 'string') {
      for (const d of value.value.split(',')) if (d.trim() !== '') out.push(d.trim());
      return out;
    }
    if (value.kind === 'seq') {
      for (const item of value.items) {
        if (item.kind !== 'string') {
          throw new DecodeAbort(`unknown type for service domain: ${goTypeName(item)}`, item.pos, ctx.path, 'list domains as strings');
        }
        if (item.value.trim() !== '') out.push(item.value.trim());
      }
      return out;
    }
    throw new DecodeAbort(`unknown type for service domain: ${goTypeName(value)}`, value.pos, ctx.path, 'write domain: example.com or a list of domains');
  },
  zero: () => undefined,
  schema: () => ({ anyOf: [{ type: 'string', description: 'One domain, or several separated by commas.' }, { type: 'array', items: { type: 'string' } }] }),
};

/** `environment`: a list of `KEY`, `KEY=default` or `*`; non-string items are dropped. */
export const environment: Codec<string[]> = {
  goType: 'manifest.Environment',
  decode(raw, ctx, previous) {
    const value = generic(raw, ctx);
    if (value.kind !== 'seq') {
      throw new DecodeAbort(
        `unknown type for service environment: ${goTypeName(value)}`,
        value.pos,
        ctx.path,
        value.kind === 'string' ? `write it as a list:\n    environment:\n      - ${value.value}` : value.kind === 'map' ? 'write each variable as a list item: - KEY=value' : 'write environment as a list of KEY or KEY=default',
      );
    }
    const out = [...(previous ?? [])];
    value.items.forEach((item, i) => {
      if (item.kind === 'string') out.push(item.value);
      else if (item.kind === 'seq') {
        for (const inner of item.items) {
          if (inner.kind === 'string') out.push(inner.value);
          else warnIgnored(childContext(ctx, i), inner, 'strings');
        }
      } else {
        const hint =
          item.kind === 'map' && item.entries.length === 1
            ? `write "${keyText(item.entries[0]?.key ?? item)}=..." as one string: YAML read "KEY: value" as a map`
            : 'quote the entry, e.g. - "KEY=value"';
        warnIgnored(childContext(ctx, i), item, 'strings (KEY, KEY=default or *)', hint);
      }
    });
    return out;
  },
  zero: () => undefined,
  schema: () => {
    const entry = { type: 'string', examples: ['DATABASE_URL', 'NODE_ENV=production', '*'] };
    return { type: 'array', items: { anyOf: [entry, { type: 'array', items: { type: 'string' }, description: 'A nested list is flattened.' }] } };
  },
};

const HEALTH_KEYS = ['path', 'interval', 'grace', 'timeout', 'disable', 'port'] as const;

/** `health: /check` or `{path, interval, grace, timeout, disable, port}`; wrongly typed values are dropped. */
const health: Codec<ServiceHealth> = {
  goType: 'manifest.ServiceHealth',
  decode(raw, ctx, previous) {
    const value = generic(raw, ctx);
    const out: ServiceHealth = { ...(previous ?? {}) };
    if (value.kind === 'string') return { ...out, path: value.value };
    if (value.kind !== 'map') {
      throw new DecodeAbort(`unknown type for service health: ${goTypeName(value)}`, value.pos, ctx.path, 'write health: /path or health: {path: /path, interval: 5}');
    }
    for (const e of value.entries) {
      const k = keyText(e.key);
      const v = e.value;
      const sub = childContext(ctx, k);
      switch (k) {
        case 'grace':
        case 'interval':
        case 'timeout':
          if (v.kind === 'int') out[k] = v.value;
          else if (v.kind !== 'null') warnIgnored(sub, v, 'a whole number of seconds');
          break;
        case 'path':
          if (v.kind === 'string') out.path = v.value;
          else if (v.kind !== 'null') warnIgnored(sub, v, 'a string');
          break;
        case 'disable':
          if (v.kind === 'bool') out.disable = v.value;
          else if (v.kind !== 'null') warnIgnored(sub, v, 'true or false');
          break;
        case 'port':
          if (v.kind !== 'null') out.port = portScheme.decode(remarshal(v), sub, undefined);
          break;
        default:
          warnUnknownKey(ctx, e.key.pos, k, HEALTH_KEYS);
      }
    }
    return out;
  },
  zero: () => ({}),
  schema: (r) =>
    r.ref('health', () => ({
      anyOf: [
        { type: 'string', description: 'The health check path.' },
        {
          type: 'object',
          properties: {
            path: { type: 'string', default: '/', description: 'Path that answers 2xx/3xx when the process is ready.' },
            interval: { type: 'integer', default: 5, description: 'Seconds between checks.' },
            grace: { type: 'integer', description: 'Seconds before the first check (defaults to interval).' },
            timeout: { type: 'integer', description: 'Seconds a check may take (defaults to interval - 1).' },
            disable: { type: 'boolean', default: false, description: 'Turn the readiness check off.' },
            port: { ...portScheme.schema(r), description: 'Port to check, when not the main port.' },
          },
          additionalProperties: false,
        },
      ],
    })),
};

const liveness = struct<ServiceLiveness>(
  'manifest.ServiceLiveness',
  {
    path: field(goString, 'Path that answers while the process is alive; a failing check restarts it.'),
    port: field(portScheme, 'Port to check, when not the main port.'),
    grace: field(goInt, 'Seconds before the first check.', { default: 10 }),
    interval: field(goInt, 'Seconds between checks.', { default: 5 }),
    timeout: field(goInt, 'Seconds a check may take.', { default: 5 }),
    successThreshold: field(goInt, 'Successes needed after a failure.', { default: 1 }),
    failureThreshold: field(goInt, 'Failures before a restart.', { default: 3 }),
  },
  { defName: 'liveness' },
);

const startupProbe = struct<ServiceStartupProbe>(
  'manifest.ServiceStartupProbe',
  {
    path: field(goString, 'HTTP path that answers once the process has started.'),
    tcpSocketPort: field(goString, 'TCP port that accepts connections once the process has started.'),
    grace: field(goInt, 'Seconds before the first check (defaults to the liveness value).'),
    interval: field(goInt, 'Seconds between checks (defaults to the liveness value).'),
    timeout: field(goInt, 'Seconds a check may take (defaults to the liveness value).'),
    successThreshold: field(goInt, 'Successes needed (defaults to the liveness value).'),
    failureThreshold: field(goInt, 'Failures allowed before a restart (defaults to the liveness value).'),
  },
  { defName: 'startupProbe' },
);

const deployment = struct<ServiceDeployment>(
  'manifest.ServiceDeployment',
  {
    minimum: field(goInt, 'Percentage of processes kept running during a rolling update (0-100).', { default: 50 }),
    maximum: field(goInt, 'Percentage of processes allowed during a rolling update (100-200).', { default: 200 }),
  },
  { defName: 'deployment' },
);

const imagePullSecret = struct<ImagePullSecret>(
  'manifest.ServiceImagePullSecret',
  {
    registry: field(goString, 'Registry host (lower case, no scheme, no path), e.g. nvcr.io.'),
    username: field(goString, 'Registry user name.'),
    password: field(goString, 'A literal password (prefer passwordEnv).'),
    passwordEnv: field(goString, 'Name of the app environment variable that holds the password.'),
  },
  { defName: 'imagePullSecret' },
);

const capabilities = struct<Capabilities>(
  'manifest.Capabilities',
  {
    add: field(stringList, 'Linux capabilities to add, without the CAP_ prefix.'),
    drop: field(stringList, 'Linux capabilities to drop, e.g. ALL.'),
  },
  { defName: 'capabilities' },
);

const securityContext = struct<SecurityContext>(
  'manifest.SecurityContext',
  {
    runAsNonRoot: field(pointer(goBool), 'Refuse to start as root.'),
    runAsUser: field(pointer(goInt64), 'User id of the process.'),
    runAsGroup: field(pointer(goInt64), 'Group id of the process.'),
    readOnlyRootFilesystem: field(pointer(goBool), 'Mount the root filesystem read-only.'),
    allowPrivilegeEscalation: field(pointer(goBool), 'Allow setuid binaries to gain privileges.'),
    capabilities: field(pointer(capabilities), 'Linux capabilities.'),
    seccompProfile: field(goString, 'RuntimeDefault or Unconfined.'),
  },
  { defName: 'securityContext' },
);

const initContainer = struct<ServiceInitContainer>(
  'manifest.ServiceInitContainer',
  {
    image: field(goString, 'Image of the init container (defaults to the service image).'),
    command: field(goString, 'Command the init container runs before the service starts.'),
    volumeOptions: field(volumeOptions, 'Volumes of the init container.'),
    configMounts: field(configMounts, 'Config files of the init container.'),
  },
  { defName: 'initContainer' },
);

export const serviceFields = struct<ServiceFields>(
  'manifest.Service',
  {
    accessControl: field(
      struct<AccessControl>(
        'manifest.AccessControl',
        {
          awsPodIdentity: field(
            pointer(struct<AwsPodIdentity>('manifest.AwsPodIdentity', { policyArns: field(stringList, 'IAM policy ARNs for the service\u2019s pod identity.') }, { defName: 'awsPodIdentity' })),
            'EKS pod identity.',
          ),
        },
        { defName: 'accessControl' },
      ),
      'Cloud access for the service\u2019s processes.',
    ),
    agent: field(agent, 'Run one process on every node (a DaemonSet).', { default: false }),
    annotations: field(annotations, 'Annotations for the pods and the service account: key=value items.'),
    build: field(build, 'Where to build the image from: a directory, or {path, manifest, args}.', { default: '.' }),
    certificate: field(
      struct<ServiceCertificate>(
        'manifest.ServiceCertificate',
        { id: field(goString, 'An existing certificate to use instead of issuing one.'), duration: field(goString, 'Lifetime of issued certificates, e.g. 2160h.') },
        { defName: 'certificate' },
      ),
      'TLS certificate settings.',
    ),
    command: field(goString, 'Command that overrides the image\u2019s CMD (split like a shell would).'),
    configMounts: field(configMounts, 'Files from the top-level configs mounted into the container.'),
    deployment: field(deployment, 'Rolling update bounds, in percent of the process count.'),
    disableHostUsers: field(goBool, 'Run the pod in its own user namespace.'),
    dnsConfig: field(struct<ServiceDnsConfig>('manifest.ServiceDnsConfig', { ndots: field(goInt, 'The resolver\u2019s ndots option.') }, { defName: 'dnsConfig' }), 'Pod DNS options.'),
    domain: field(domain, 'Custom domains: one string (comma-separated) or a list.'),
    drain: field(goInt, 'Seconds to drain connections (kept for compatibility).', { default: 30 }),
    environment: field(environment, 'Variables the service needs: KEY (required), KEY=default, or * for all.'),
    grpcHealthEnabled: field(goBool, 'Use gRPC health checks on a grpc port.'),
    health: field(health, 'Readiness check: a path, or {path, interval, grace, timeout, disable, port}.'),
    image: field(goString, 'Use this image instead of building one.'),
    imagePullSecrets: field(list(imagePullSecret, '[]manifest.ServiceImagePullSecret'), 'Credentials for private registries.'),
    ingressAnnotations: field(annotations, 'Annotations added to the service\u2019s ingress.'),
    init: field(goBool, 'Run an init process (shared process namespace).', { default: true }),
    initContainer: field(pointer(initContainer), 'A container that runs to completion before the service starts.'),
    internal: field(goBool, 'Reachable only inside the rack.', { default: false }),
    internalRouter: field(goBool, 'Exposed through the rack\u2019s internal load balancer.', { default: false }),
    labels: field(stringMap('manifest.Labels'), 'Labels for the service\u2019s objects (system, rack, app, name, service, release and type are reserved).'),
    lifecycle: field(
      struct<ServiceLifecycle>(
        'manifest.ServiceLifecycle',
        { preStop: field(goString, 'Command run before the process is stopped.'), postStart: field(goString, 'Command run after the process starts.') },
        { defName: 'lifecycle' },
      ),
      'Container lifecycle hooks.',
    ),
    liveness: field(liveness, 'Liveness check: a failing process is restarted.'),
    nodeAffinityLabels: field(
      list(
        struct<NodeAffinityLabel>(
          'manifest.NodeAffinityLabel',
          { label: field(goString, 'Node label.'), value: field(goString, 'Label value.'), weight: field(goInt, 'Preference weight (1-100).') },
          { defName: 'nodeAffinityLabel' },
        ),
        '[]manifest.NodeAffinityLabel',
      ),
      'Preferred node labels.',
    ),
    nodeSelectorLabels: field(stringMap(), 'Required node labels.'),
    port: field(portScheme, 'Main port: 3000, "https:3000", or {port, scheme}.'),
    ports: field(list(portProtocol, '[]manifest.ServicePortProtocol'), 'Further ports: 5000 or "5000/udp".'),
    privileged: field(goBool, 'Run the container privileged.'),
    resources: field(stringList, 'Resources linked into the service: name, or name:ENV_VAR.'),
    scale: field(serviceScale, 'Process count and size, and autoscaling.'),
    securityContext: field(securityContext, 'Container security settings.'),
    singleton: field(goBool, 'Never run more than one process, even during an update.', { default: false }),
    startupProbe: field(startupProbe, 'Startup check that holds back the other checks until it passes.'),
    sticky: field(goBool, 'Route a client to the same process (session cookie).', { default: false }),
    termination: field(
      struct<ServiceTermination>('manifest.ServiceTermination', { grace: field(goInt, 'Seconds between SIGTERM and SIGKILL.', { default: 30 }) }, { defName: 'termination' }),
      'Shutdown settings.',
    ),
    test: field(goString, 'Command that slipway test runs.'),
    timeout: field(goInt, 'Request timeout in seconds.', { default: 60 }),
    tls: field(struct<ServiceTls>('manifest.ServiceTLS', { redirect: field(goBool, 'Redirect HTTP to HTTPS.', { default: true }) }, { defName: 'tls' }), 'TLS settings.'),
    volumeOptions: field(volumeOptions, 'Volumes: emptyDir, awsEfs or azureFiles.'),
    volumes: field(stringList, 'Volumes as from[:to] paths.'),
    whitelist: field(goString, 'Comma-separated CIDR ranges allowed to reach the service.'),
  },
  { defName: 'service', doc: 'A service: a process type of the app, built or pulled, scaled, routed and checked.' },
);

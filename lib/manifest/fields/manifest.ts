/** The top level of convox.yml and its sections other than services. */
import type { Codec } from '../decode/codec';
import { field, generic, goBool, goFloat, goInt, goString, list, pointer, stringList, stringMap, struct, warnIgnored } from '../decode/codec';
import { DecodeAbort } from '../decode/session';
import type {
  AppConfig,
  AppSettings,
  ManifestFields,
  AwsLogsSettings,
  Balancer,
  BalancerFields,
  BalancerPort,
  BalancerPortFields,
  BudgetSettings,
  Resource,
  ResourceFields,
  ServiceFields,
  Timer,
  TimerFields,
} from '../types';
import { goAtoi, goTypeName } from '../yaml/go-format';
import { remarshal } from '../yaml/go-value';
import { section, entryName } from './sections';
import { environment, serviceFields } from './service';

const NAME_PATTERN = '^[a-z][a-z0-9-]*$';

export const resourceFields = struct<ResourceFields>(
  'manifest.Resource',
  {
    type: field(goString, 'postgres, postgis, mysql, mariadb, redis or memcached (run in the rack), or rds-postgres, rds-mysql, rds-mariadb, elasticache-redis, elasticache-memcached (managed by AWS).'),
    image: field(goString, 'A custom image for a containerised resource (overrides options.version).'),
    options: field(stringMap(), 'Type-specific settings, e.g. version, storage, class, encrypted.'),
  },
  { defName: 'resource', doc: 'A backing service (database or cache) linked into services as environment variables.' },
);

export const timerFields = struct<TimerFields>(
  'manifest.Timer',
  {
    schedule: field(goString, 'Cron schedule in UTC (5 fields; a 6th field and ? are accepted for compatibility). Quote it: a leading * is YAML syntax.'),
    command: field(goString, 'Command to run.'),
    service: field(goString, 'Service whose image, environment and resources the timer uses.'),
    concurrency: field(goString, 'allow, forbid or replace: what to do when the previous run is still going.'),
    parallelCount: field(goInt, 'Run this many copies at once (each gets TIMER_INDEX).'),
    annotations: field(stringList, 'Pod annotations as key=value.'),
  },
  { defName: 'timer', doc: 'A command run on a schedule in a service\u2019s image.' },
);

const balancerPortMap = struct<BalancerPortFields>(
  'manifest.balancerPort',
  { port: field(goInt, 'Container port traffic goes to.'), protocol: field(goString, 'TCP or UDP.') },
  { defName: 'balancerPortMap' },
);

/** A balancer port's target: a container port (TCP), or `{port, protocol}`. */
const balancerPortTarget: { zero(): BalancerPortFields } & Codec<BalancerPortFields> = {
  goType: 'manifest.BalancerPort',
  decode(raw, ctx) {
    const value = generic(raw, ctx);
    if (value.kind === 'int') return { port: value.value, protocol: 'TCP' };
    if (value.kind === 'map') {
      const r = balancerPortMap.decode(remarshal(value), ctx, undefined);
      return { port: r.port ?? 0, protocol: r.protocol ?? '' };
    }
    warnIgnored(ctx, value, 'a port number or {port, protocol}', 'write the target port as a number, e.g. 3000: 8080');
    return { port: 0, protocol: '' };
  },
  zero: () => ({ port: 0, protocol: '' }),
  schema: (r) => ({ anyOf: [{ type: 'integer', minimum: 1, maximum: 65535 }, balancerPortMap.schema(r)] }),
};

/** `whitelist`: one CIDR string or a list of them. */
const balancerWhitelist: Codec<string[]> = {
  goType: 'manifest.BalancerWhitelist',
  decode(raw, ctx) {
    const value = generic(raw, ctx);
    if (value.kind === 'string') return [value.value];
    if (value.kind === 'seq') {
      return value.items.map((item) => {
        if (item.kind !== 'string') throw new DecodeAbort(`unknown type for balancer whitelist: ${goTypeName(value)}`, item.pos, ctx.path, 'list CIDR ranges as strings, e.g. 10.0.0.0/8');
        return item.value;
      });
    }
    throw new DecodeAbort(`unknown type for balancer whitelist: ${goTypeName(value)}`, value.pos, ctx.path, 'write a CIDR range or a list of them');
  },
  zero: () => undefined,
  schema: () => ({ anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] }),
};

export const balancerFields = struct<BalancerFields>(
  'manifest.Balancer',
  {
    service: field(goString, 'The service that receives the traffic.'),
    ports: field(
      section<BalancerPortFields, BalancerPort>({
        what: 'yaml.MapSlice',
        item: balancerPortTarget,
        name: (key, ctx) => {
          const name = entryName(key, ctx);
          const parsed = goAtoi(name);
          if ('error' in parsed) throw new DecodeAbort(parsed.error, key.pos, ctx.path, 'the key is the port the load balancer listens on, e.g. 443: 3000');
          return String(parsed.value);
        },
        build: (name, fields) => ({ source: Number(name), port: fields.port ?? 0, protocol: fields.protocol ?? '' }),
        keySchema: { pattern: '^[0-9]+$' },
        doc: 'Listen port: container port, or listen port: {port, protocol}.',
      }),
      'Ports the load balancer listens on, each mapped to a container port.',
    ),
    whitelist: field(balancerWhitelist, 'CIDR ranges allowed to connect.'),
    annotations: field(stringList, 'Annotations of the load balancer Service as key=value.'),
  },
  { defName: 'balancer', doc: 'A TCP/UDP load balancer in front of a service.' },
);

const budget = struct<BudgetSettings>(
  'manifest.BudgetSettings',
  {
    monthlyCapUsd: field(goFloat, 'Monthly spending cap in US dollars.'),
    alertThresholdPercent: field(goFloat, 'Alert when spending reaches this percentage of the cap.'),
    atCapAction: field(goString, 'alert-only, block-new-deploys or auto-shutdown.'),
    atCapWebhookUrl: field(goString, 'Webhook notified when the cap is reached (required for auto-shutdown).'),
    pricingAdjustment: field(goFloat, 'Multiplier applied to list prices.'),
    neverAutoShutdown: field(stringList, 'Services that auto-shutdown never stops.'),
    shutdownOrder: field(goString, 'largest-cost or newest.'),
    notifyBeforeMinutes: field(goInt, 'Minutes of notice before an auto-shutdown (5-1440).'),
    shutdownGracePeriod: field(goString, 'Go duration (e.g. 5m) between notice and shutdown, at most 1h.'),
    recoveryMode: field(goString, 'auto-on-reset or manual.'),
  },
  { defName: 'budget' },
);

const appConfig = struct<AppConfig>(
  'manifest.AppConfig',
  { id: field(goString, 'Config id, referenced by configMounts.'), name: field(goString, 'Config name.'), value: field(pointer(goString), 'Config content.') },
  { defName: 'appConfig' },
);

const appSettings = struct<AppSettings>(
  'manifest.AppSettings',
  {
    awsLogs: field(
      pointer(
        struct<AwsLogsSettings>(
          'manifest.AwsLogs',
          { cwRetention: field(goInt, 'CloudWatch Logs retention in days.'), disableRetention: field(goBool, 'Keep logs forever.') },
          { defName: 'awsLogs' },
        ),
      ),
      'CloudWatch Logs settings (AWS racks).',
    ),
  },
  { defName: 'appSettings' },
);

/** The top level as decoded, before defaults turn service entries into complete services. */
export type DecodedManifest = Omit<ManifestFields, 'services'> & { services?: (ServiceFields & { name: string })[] };

export const manifestFields = struct<DecodedManifest>(
  'manifest.Manifest',
  {
    appSettings: field(appSettings, 'Settings of the app on the rack.'),
    balancers: field(
      section<BalancerFields, Balancer>({
        what: 'yaml.MapSlice',
        item: balancerFields,
        build: (name, f) => ({ ...f, name, service: f.service ?? '', ports: f.ports ?? [] }),
        keySchema: { pattern: NAME_PATTERN },
        doc: 'TCP/UDP load balancers, by name.',
      }),
      'TCP/UDP load balancers, by name.',
    ),
    budget: field(budget, 'Cost budget and what happens at the cap.'),
    configs: field(list(appConfig, 'manifest.AppConfigs'), 'App config files that services can mount.'),
    environment: field(environment, 'Variables every service gets: KEY (required), KEY=default, or *.'),
    labels: field(stringMap('manifest.Labels'), 'Labels added to every service.'),
    params: field(stringMap('manifest.Params'), 'App parameters (read, but not used by the rack; use apps params instead).'),
    resources: field(
      section<ResourceFields, Resource>({
        what: 'yaml.MapSlice',
        item: resourceFields,
        build: (name, f) => ({ ...f, name, type: f.type ?? '', options: f.options ?? {} }),
        keySchema: { pattern: NAME_PATTERN },
        doc: 'Databases and caches, by name.',
      }),
      'Databases and caches, by name.',
    ),
    services: field(
      section<ServiceFields, ServiceFields & { name: string }>({
        what: 'yaml.MapSlice',
        item: serviceFields,
        build: (name, f) => ({ ...f, name }),
        keySchema: { pattern: NAME_PATTERN },
        doc: 'The app\u2019s services, by name.',
      }),
      'The app\u2019s services, by name.',
    ),
    timers: field(
      section<TimerFields, Timer>({
        what: 'yaml.MapSlice',
        item: timerFields,
        build: (name, f) => ({ ...f, name, schedule: f.schedule ?? '', command: f.command ?? '', service: f.service ?? '' }),
        keySchema: { pattern: NAME_PATTERN },
        doc: 'Scheduled commands, by name.',
      }),
      'Scheduled commands, by name.',
    ),
  },
  { defName: 'manifest', doc: 'convox.yml: an app\u2019s services, resources, timers and balancers.', extensionPrefix: 'x-' },
);


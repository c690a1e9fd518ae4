/**
 * The rack's configuration, read from the CDK app's context (cdk.json, or `-c key=value` on the
 * command line). Every value is checked here, before any construct exists, and a wrong one is
 * refused with the context key that holds it and what it should be.
 */
import { SlipwayError } from '../errors';
import type { CleanupConfig } from '../pipeline/steps/cleanup';
import type { DeployConfig } from '../pipeline/steps/deploy';

export type ClusterConfig = { readonly mode: 'import'; readonly name: string; readonly vpcId?: string } | { readonly mode: 'create'; readonly version?: string };

export interface RackConfig {
  readonly rackName: string;
  readonly cluster: ClusterConfig;
  readonly alertEmail?: string;
  readonly alertWebhookUrl?: string;
  readonly ingressClass: string;
  readonly logRetentionDays: number;
  readonly deploy: DeployConfig;
  readonly cleanup: CleanupConfig;
}

/** The context keys, for the README and for error messages. */
export const CONTEXT_KEYS = {
  rackName: 'slipway:rackName',
  clusterName: 'slipway:clusterName',
  clusterVpcId: 'slipway:clusterVpcId',
  createCluster: 'slipway:createCluster',
  kubernetesVersion: 'slipway:kubernetesVersion',
  alertEmail: 'slipway:alertEmail',
  alertWebhookUrl: 'slipway:alertWebhookUrl',
  ingressClass: 'slipway:ingressClass',
  releaseRetention: 'slipway:releaseRetention',
  logRetentionDays: 'slipway:logRetentionDays',
  deploy: 'slipway:deploy',
} as const;

/** Deploy settings on AWS: builds and rollouts take minutes, so polls are seconds apart, not one. */
export const AWS_DEPLOY_DEFAULTS: DeployConfig = { pollSeconds: 15, queuePollSeconds: 30, leaseSeconds: 900, bakeSeconds: 60, progressDeadlineSeconds: 600 };

export class RackConfigError extends SlipwayError {
  constructor(key: string, problem: string) {
    super(`cdk context ${key}: ${problem}`, 'RACK_CONFIG_INVALID', { key });
  }
}

/** A rack's name: it prefixes namespaces, stacks, schedules and repositories. */
export const RACK_NAME = /^[a-z][a-z0-9-]{0,19}$/;
const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/;
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const K8S_VERSION = /^1\.\d{2}$/;
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

type Context = (key: string) => unknown;

function text(context: Context, key: string): string | undefined {
  const value = context(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new RackConfigError(key, `must be a string, not ${JSON.stringify(value)}`);
  return value;
}

function wholeNumber(context: Context, key: string, min: number, max: number): number | undefined {
  const value = context(key);
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw new RackConfigError(key, `must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`);
  return n;
}

function flag(context: Context, key: string): boolean {
  const value = context(key);
  if (value === undefined || value === null || value === '' || value === false || value === 'false') return false;
  if (value === true || value === 'true') return true;
  throw new RackConfigError(key, `must be true or false, not ${JSON.stringify(value)}`);
}

function deployConfig(context: Context): DeployConfig {
  const key = CONTEXT_KEYS.deploy;
  const raw = context(key);
  if (raw === undefined || raw === null) return AWS_DEPLOY_DEFAULTS;
  const value = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RackConfigError(key, 'must be an object such as {"bakeSeconds": 120}');
  const out: Record<string, unknown> = { ...AWS_DEPLOY_DEFAULTS };
  const limits: Record<keyof DeployConfig, [number, number] | undefined> = {
    pollSeconds: [5, 300],
    queuePollSeconds: [5, 600],
    leaseSeconds: [120, 7200],
    bakeSeconds: [0, 3600],
    progressDeadlineSeconds: [60, 7200],
    alarmNames: undefined,
  };
  for (const [field, v] of Object.entries(value as Record<string, unknown>)) {
    if (!(field in limits)) throw new RackConfigError(`${key}.${field}`, `is not a deploy setting; use one of ${Object.keys(limits).join(', ')}`);
    const range = limits[field as keyof DeployConfig];
    if (range === undefined) {
      if (!Array.isArray(v) || v.some((n) => typeof n !== 'string' || n === '')) throw new RackConfigError(`${key}.${field}`, 'must be a list of CloudWatch alarm names');
    } else if (typeof v !== 'number' || !Number.isInteger(v) || v < range[0] || v > range[1]) {
      throw new RackConfigError(`${key}.${field}`, `must be a whole number of seconds from ${range[0]} to ${range[1]}, not ${JSON.stringify(v)}`);
    }
    out[field] = v;
  }
  const config = out as unknown as DeployConfig;
  // A lock must outlive the wait between two renewals, or a healthy deploy loses its app.
  if (config.leaseSeconds < 4 * Math.max(config.pollSeconds, config.queuePollSeconds)) {
    throw new RackConfigError(`${key}.leaseSeconds`, `must be at least four poll intervals (${4 * Math.max(config.pollSeconds, config.queuePollSeconds)} s here), so that a deploy renews its lock in time`);
  }
  return config;
}

export function rackConfig(context: Context): RackConfig {
  const rackName = text(context, CONTEXT_KEYS.rackName) ?? 'slipway';
  if (!RACK_NAME.test(rackName)) throw new RackConfigError(CONTEXT_KEYS.rackName, `${JSON.stringify(rackName)} is not a rack name: 1 to 20 lower-case letters, digits and dashes, starting with a letter`);

  const create = flag(context, CONTEXT_KEYS.createCluster);
  const clusterName = text(context, CONTEXT_KEYS.clusterName);
  const vpcId = text(context, CONTEXT_KEYS.clusterVpcId);
  let cluster: ClusterConfig;
  if (create) {
    if (clusterName) throw new RackConfigError(CONTEXT_KEYS.createCluster, `is true, but ${CONTEXT_KEYS.clusterName} names an existing cluster: set one or the other`);
    const version = text(context, CONTEXT_KEYS.kubernetesVersion);
    if (version !== undefined && !K8S_VERSION.test(version)) throw new RackConfigError(CONTEXT_KEYS.kubernetesVersion, `${JSON.stringify(version)} is not a Kubernetes minor version such as "1.33"`);
    cluster = { mode: 'create', ...(version ? { version } : {}) };
  } else {
    if (!clusterName) throw new RackConfigError(CONTEXT_KEYS.clusterName, `is not set: name the EKS cluster the rack deploys to, or set ${CONTEXT_KEYS.createCluster} to true to create one`);
    if (!CLUSTER_NAME.test(clusterName)) throw new RackConfigError(CONTEXT_KEYS.clusterName, `${JSON.stringify(clusterName)} is not an EKS cluster name`);
    if (vpcId !== undefined && !VPC_ID.test(vpcId)) throw new RackConfigError(CONTEXT_KEYS.clusterVpcId, `${JSON.stringify(vpcId)} is not a VPC id such as vpc-0a1b2c3d`);
    cluster = { mode: 'import', name: clusterName, ...(vpcId ? { vpcId } : {}) };
  }

  const alertEmail = text(context, CONTEXT_KEYS.alertEmail);
  if (alertEmail !== undefined && !EMAIL.test(alertEmail)) throw new RackConfigError(CONTEXT_KEYS.alertEmail, `${JSON.stringify(alertEmail)} is not an e-mail address`);
  const alertWebhookUrl = text(context, CONTEXT_KEYS.alertWebhookUrl);
  if (alertWebhookUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(alertWebhookUrl);
    } catch {
      url = undefined;
    }
    if (url?.protocol !== 'https:') throw new RackConfigError(CONTEXT_KEYS.alertWebhookUrl, 'must be an https:// URL (a Slack incoming webhook, for example)');
  }
  const ingressClass = text(context, CONTEXT_KEYS.ingressClass) ?? 'alb';
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(ingressClass)) throw new RackConfigError(CONTEXT_KEYS.ingressClass, `${JSON.stringify(ingressClass)} is not an IngressClass name`);
  const logRetentionDays = wholeNumber(context, CONTEXT_KEYS.logRetentionDays, 1, 3653) ?? 30;
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) throw new RackConfigError(CONTEXT_KEYS.logRetentionDays, `CloudWatch Logs keeps logs for one of ${LOG_RETENTION_DAYS.join(', ')} days, not ${logRetentionDays}`);
  const keepReleases = wholeNumber(context, CONTEXT_KEYS.releaseRetention, 2, 1000) ?? 20;

  return {
    rackName,
    cluster,
    ...(alertEmail ? { alertEmail } : {}),
    ...(alertWebhookUrl ? { alertWebhookUrl } : {}),
    ingressClass,
    logRetentionDays,
    deploy: deployConfig(context),
    cleanup: { keepReleases, jobRetentionHours: 72, graceHours: 24 },
  };
}

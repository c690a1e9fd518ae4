/**
 * The manifest as Slipway works with it: Convox's `convox.yml` after loading, with every default
 * filled in. Keys are the YAML keys of convox.yml; the named sections (services, resources,
 * timers, balancers) are ordered lists whose items carry their name. `slipway manifest show
 * --json` prints exactly this shape.
 *
 * Decoded types have optional properties (a key the file did not write stays absent); after
 * defaults, the fields Convox always sets are required (see `Service`).
 */

export interface PortScheme {
  port: number;
  scheme?: string;
}

export interface PortProtocol {
  port: number;
  protocol?: string;
}

export interface Annotation {
  key: string;
  value: string;
}

export interface ServiceAgent {
  enabled: boolean;
}

export interface ServiceBuild {
  path?: string;
  manifest?: string;
  args?: string[];
}

export interface ServiceHealth {
  path?: string;
  interval?: number;
  grace?: number;
  timeout?: number;
  disable?: boolean;
  port?: PortScheme;
}

export interface ServiceLiveness {
  path?: string;
  port?: PortScheme;
  grace?: number;
  interval?: number;
  timeout?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface ServiceStartupProbe {
  path?: string;
  tcpSocketPort?: string;
  grace?: number;
  interval?: number;
  timeout?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface ServiceDeployment {
  minimum?: number;
  maximum?: number;
}

export interface ServiceTermination {
  grace?: number;
}

export interface ServiceTls {
  redirect?: boolean;
}

export interface ServiceCertificate {
  id?: string;
  duration?: string;
}

export interface ServiceDnsConfig {
  ndots?: number;
}

export interface ServiceLifecycle {
  preStop?: string;
  postStart?: string;
}

export interface ConfigMount {
  id?: string;
  dir?: string;
  filename?: string;
}

export interface EmptyDirVolume {
  id?: string;
  mountPath?: string;
  medium?: string;
  sizeLimit?: string;
}

export interface AwsEfsVolume {
  id?: string;
  mountPath?: string;
  accessMode?: string;
  storageClass?: string;
  volumeHandle?: string;
}

export interface AzureFilesVolume {
  id?: string;
  mountPath?: string;
  accessMode?: string;
  shareSize?: string;
}

export interface VolumeOption {
  emptyDir?: EmptyDirVolume;
  awsEfs?: AwsEfsVolume;
  azureFiles?: AzureFilesVolume;
}

export interface ServiceInitContainer {
  image?: string;
  command?: string;
  volumeOptions?: VolumeOption[];
  configMounts?: ConfigMount[];
}

export interface NodeAffinityLabel {
  label?: string;
  weight?: number;
  value?: string;
}

export interface ImagePullSecret {
  registry?: string;
  username?: string;
  password?: string;
  passwordEnv?: string;
}

export interface Capabilities {
  add?: string[];
  drop?: string[];
}

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: Capabilities;
  seccompProfile?: string;
}

export interface AwsPodIdentity {
  policyArns?: string[];
}

export interface AccessControl {
  awsPodIdentity?: AwsPodIdentity;
}

export interface ScaleCount {
  min: number;
  max: number;
}

export interface ScaleGpu {
  count?: number;
  vendor?: string;
}

export interface ScaleLimit {
  cpu?: number;
  memory?: number;
}

export interface ScaleMetric {
  namespace?: string;
  name?: string;
  aggregate?: string;
  dimensions?: Record<string, string>;
  value?: number;
}

export interface ScaleExternalTarget {
  name?: string;
  averageValue?: number;
  value?: number;
  matchLabels?: Record<string, string>;
}

export interface ScaleTargets {
  cpu?: number;
  memory?: number;
  requests?: number;
  custom?: ScaleMetric[];
  external?: ScaleExternalTarget[];
}

export interface TriggerAuthenticationRef {
  name?: string;
  kind?: string;
}

/** A KEDA ScaledObject trigger (`scale.keda.triggers[]`, `scale.autoscale.custom[]`). */
export interface ScaleTrigger {
  type?: string;
  name?: string;
  metadata?: Record<string, string>;
  authenticationRef?: TriggerAuthenticationRef;
  metricType?: string;
  useCachedMetrics?: boolean;
}

export interface ScaleKeda {
  pollingInterval?: number;
  initialCooldownPeriod?: number;
  cooldownPeriod?: number;
  idleReplicaCount?: number;
  advanced?: unknown;
  fallback?: unknown;
  triggers?: ScaleTrigger[];
}

export interface ScaleVpa {
  updateMode?: string;
  minCpu?: string;
  maxCpu?: string;
  minMem?: string;
  maxMem?: string;
  cpuOnly?: boolean;
  memOnly?: boolean;
  updateRequestOnly?: boolean;
}

/** One autoscale signal; `mode` is filled in after load (`threshold`, or `queue` for queueDepth). */
export interface AutoscaleMode {
  mode?: string;
  threshold?: number;
  metricName?: string;
  prometheusUrl?: string;
  query?: string;
}

export interface ScaleAutoscale {
  cpu?: AutoscaleMode;
  memory?: AutoscaleMode;
  gpuUtilization?: AutoscaleMode;
  queueDepth?: AutoscaleMode;
  custom?: ScaleTrigger[];
  cooldownPeriod?: number;
  pollingInterval?: number;
}

export interface ServiceScale {
  count?: ScaleCount;
  cpu?: number;
  memory?: number;
  gpu?: ScaleGpu;
  limit?: ScaleLimit;
  targets?: ScaleTargets;
  keda?: ScaleKeda;
  vpa?: ScaleVpa;
  min?: number;
  max?: number;
  autoscale?: ScaleAutoscale;
}

/** `services.<name>` as written (every key optional). */
export interface ServiceFields {
  accessControl?: AccessControl;
  agent?: ServiceAgent;
  annotations?: Annotation[];
  build?: ServiceBuild;
  certificate?: ServiceCertificate;
  command?: string;
  configMounts?: ConfigMount[];
  deployment?: ServiceDeployment;
  disableHostUsers?: boolean;
  dnsConfig?: ServiceDnsConfig;
  domain?: string[];
  drain?: number;
  environment?: string[];
  grpcHealthEnabled?: boolean;
  health?: ServiceHealth;
  image?: string;
  imagePullSecrets?: ImagePullSecret[];
  ingressAnnotations?: Annotation[];
  init?: boolean;
  initContainer?: ServiceInitContainer;
  internal?: boolean;
  internalRouter?: boolean;
  labels?: Record<string, string>;
  lifecycle?: ServiceLifecycle;
  liveness?: ServiceLiveness;
  nodeAffinityLabels?: NodeAffinityLabel[];
  nodeSelectorLabels?: Record<string, string>;
  port?: PortScheme;
  ports?: PortProtocol[];
  privileged?: boolean;
  resources?: string[];
  scale?: ServiceScale;
  securityContext?: SecurityContext;
  singleton?: boolean;
  startupProbe?: ServiceStartupProbe;
  sticky?: boolean;
  termination?: ServiceTermination;
  test?: string;
  timeout?: number;
  tls?: ServiceTls;
  volumeOptions?: VolumeOption[];
  volumes?: string[];
  whitelist?: string;
}

type Require<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: Exclude<T[P], undefined> };

/** A service after load: the core fields Convox always fills are present. */
export type Service = Require<
  Omit<ServiceFields, 'port' | 'build' | 'deployment' | 'health' | 'scale' | 'termination' | 'tls'>,
  | 'agent'
  | 'command'
  | 'domain'
  | 'drain'
  | 'environment'
  | 'image'
  | 'init'
  | 'internal'
  | 'internalRouter'
  | 'ports'
  | 'resources'
  | 'singleton'
  | 'sticky'
  | 'timeout'
> & {
  name: string;
  /** `null` when the service has no main port. */
  port: PortScheme | null;
  build: Required<Pick<ServiceBuild, 'path' | 'manifest'>> & ServiceBuild;
  deployment: Required<ServiceDeployment>;
  health: Required<Omit<ServiceHealth, 'port'>> & ServiceHealth;
  scale: ServiceScale & { count: ScaleCount; cpu: number; memory: number };
  termination: Required<ServiceTermination>;
  tls: Required<ServiceTls>;
};

export interface ResourceFields {
  type?: string;
  image?: string;
  options?: Record<string, string>;
}

export interface Resource extends ResourceFields {
  name: string;
  type: string;
  options: Record<string, string>;
}

export interface TimerFields {
  schedule?: string;
  command?: string;
  service?: string;
  concurrency?: string;
  parallelCount?: number;
  annotations?: string[];
}

export interface Timer extends TimerFields {
  name: string;
  schedule: string;
  command: string;
  service: string;
}

export interface BalancerPort {
  /** The port the load balancer listens on (the key in convox.yml). */
  source: number;
  /** The container port traffic goes to. */
  port: number;
  protocol?: string;
}

export interface BalancerPortFields {
  port?: number;
  protocol?: string;
}

export interface BalancerFields {
  service?: string;
  ports?: BalancerPort[];
  whitelist?: string[];
  annotations?: string[];
}

export interface Balancer extends BalancerFields {
  name: string;
  service: string;
  ports: BalancerPort[];
}

export interface AppConfig {
  id?: string;
  name?: string;
  value?: string;
}

export interface AwsLogsSettings {
  cwRetention?: number;
  disableRetention?: boolean;
}

export interface AppSettings {
  awsLogs?: AwsLogsSettings;
}

export interface BudgetSettings {
  monthlyCapUsd?: number;
  alertThresholdPercent?: number;
  atCapAction?: string;
  atCapWebhookUrl?: string;
  pricingAdjustment?: number;
  neverAutoShutdown?: string[];
  shutdownOrder?: string;
  notifyBeforeMinutes?: number;
  shutdownGracePeriod?: string;
  recoveryMode?: string;
}

/** The top level of convox.yml as written. */
export interface ManifestFields {
  appSettings?: AppSettings;
  balancers?: Balancer[];
  budget?: BudgetSettings;
  configs?: AppConfig[];
  environment?: string[];
  labels?: Record<string, string>;
  params?: Record<string, string>;
  resources?: Resource[];
  services?: Service[];
  timers?: Timer[];
}

/** A loaded manifest: sections are always lists (possibly empty). */
export interface Manifest extends ManifestFields {
  balancers: Balancer[];
  resources: Resource[];
  services: Service[];
  timers: Timer[];
}

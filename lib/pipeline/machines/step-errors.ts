/**
 * The errors a pipeline step ends with, as the state machines see them (the ASL `Error`). A step
 * throws the first six itself; on AWS, the step's Lambda handler maps whatever else it meets to
 * `StepTransient` (retried by every step task) or `StepFailed` (caught as a failure), so a
 * machine never routes on an SDK's or a library's own error names.
 */
export const STEP_ERRORS = {
  BundleRejected: 'The bundle or its convox.yml is refused (Admit, PrepareBuild): nothing changed.',
  DeployRejected: 'The upload cannot deploy (the app does not exist): nothing changed.',
  BuildFailed: 'An image build failed: nothing was rolled out.',
  ProvisionFailed: 'A resource could not be created or updated: nothing was rolled out.',
  LockLost: 'Another deploy took the app over after this one\u2019s lease expired (Promote).',
  AppBusy: 'A deploy holds the app, so it cannot be deleted (Cleanup, removeApp): nothing was deleted.',
  StepTransient: 'An AWS service or the cluster throttled or failed on its side: the task is retried with backoff.',
  StepFailed: 'Any other failure of a step; the Cause holds its message.',
} as const;

export type StepErrorName = keyof typeof STEP_ERRORS;

/** The names steps throw on purpose, which a Lambda handler passes on unchanged. */
export const ROUTED_STEP_ERRORS: ReadonlySet<string> = new Set<StepErrorName>(['BundleRejected', 'DeployRejected', 'BuildFailed', 'ProvisionFailed', 'LockLost', 'AppBusy']);

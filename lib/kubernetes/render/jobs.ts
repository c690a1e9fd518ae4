/**
 * A Job for one run of a timer or of a one-off command: the service's pod (its image, its env
 * Secret, volumes, account and resources) running the command once, with no retries (Convox's
 * timers have none). A timer's `parallelCount` above 1 makes an Indexed Job whose copies find
 * their index in TIMER_INDEX.
 *
 * Timers are not CronJobs here: the rack's scheduler starts each run, so schedules and
 * `concurrency` are handled outside the cluster. The environment comes from the service's Secret
 * of the release the rack last rolled out; the request's own values are not copied into the Job.
 */
import type { KubernetesObject, JobRenderInput } from '../objects';
import { appContext, compact, RenderError, slipwayLabels } from './common';
import { resourceReferences } from './environment';
import { podSpec } from './pod';
import { annotationsOf } from './service';

/** How long a finished Job stays for its status and logs to be read (the runtime prunes older ones too). */
export const JOB_TTL_SECONDS = 86_400;

export function renderJob(input: JobRenderInput): KubernetesObject {
  const { request } = input;
  const ctx = appContext(input.rack, request.app);
  const service = input.manifest.services.find((s) => s.name === request.service);
  if (!service) {
    throw new RenderError(`the release's manifest has no service ${request.service} to run ${request.timer ? `timer ${request.timer}` : 'the command'} in`, 'SERVICE_MISSING', { app: request.app, service: request.service });
  }
  const parallel = request.parallelism > 1;
  const labels = slipwayLabels({ app: ctx.app, service: service.name, release: request.release, type: 'job', ...(request.timer ? { timer: request.timer } : {}) }, service.labels ?? {});
  const env = [
    ...resourceReferences(input.manifest, service, request.env),
    ...(parallel ? [{ name: 'TIMER_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } }] : []),
  ];
  const annotations = annotationsOf(service);
  return compact({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: input.name, namespace: ctx.namespace, labels },
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished: JOB_TTL_SECONDS,
      ...(parallel ? { completionMode: 'Indexed', completions: request.parallelism, parallelism: request.parallelism } : {}),
      template: {
        metadata: { labels, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
        spec: podSpec({ service, image: request.image, env, role: 'job', command: request.command }),
      },
    },
  });
}

/**
 * Every event Slipway emits: EventBridge events with source `slipway`, one detail-type per thing
 * that happened. A detail names the app and what it concerns (release, build, service, timer,
 * resource), why, and how long it took; it never carries an environment value or a secret, and
 * any text that could quote one (a failure reason, log lines) is redacted before it leaves.
 *
 * docs/events.md documents this catalogue (a test keeps the two in step).
 */
import { randomUUID } from 'node:crypto';
import { SlipwayError } from '../errors';
import type { BuildId, ReleaseId } from './domain/ids';

export const EVENT_SOURCE = 'slipway';

export interface EventDetail {
  readonly app: string;
  readonly release?: ReleaseId;
  readonly build?: BuildId;
  /** The release that served before (for promotions and rollbacks). */
  readonly previousRelease?: ReleaseId;
  readonly service?: string;
  /** The services a promoted release gave a new image (Deployment Succeeded). */
  readonly services?: readonly string[];
  readonly timer?: string;
  /** A one-off job's command (`slipway run`, `slipway test`); commands are code, not secrets, and are redacted like reasons. */
  readonly command?: string;
  /** A one-off job's id: its processes write their logs under this name (`ps`, `logs`). */
  readonly job?: string;
  readonly resource?: string;
  /** The state machine execution this event belongs to. */
  readonly execution?: string;
  /** Why: the failure, the gate result, what the deploy waits for. Redacted before it is sent. */
  readonly reason?: string;
  readonly durationMs?: number;
  /** The bundle object the deploy came from (`apps/<app>/bundles/...`, version). */
  readonly bundle?: { readonly key: string; readonly version: string };
  /** Counts where they matter (releases kept and deleted by cleanup, replicas ready). */
  readonly counts?: Readonly<Record<string, number>>;
}

export interface SlipwayEvent {
  readonly id: string;
  readonly source: typeof EVENT_SOURCE;
  readonly 'detail-type': EventType;
  readonly time: string;
  readonly detail: EventDetail;
}

/** The catalogue: each detail-type, when it is emitted, and how urgent it is (failures alert). */
export const EVENT_TYPES = {
  'Deployment Queued': { when: 'A bundle landed and its deploy waits for the app (another deploy runs, or the app is pinned).', alert: false },
  'Deployment Started': { when: 'A deploy holds the app\u2019s lock and starts working on its bundle.', alert: false },
  'Deployment Superseded': { when: 'A queued deploy ends without running because a newer bundle for the same app arrived.', alert: false },
  'Bundle Rejected': { when: 'The bundle is malformed or hostile, or its convox.yml is invalid; nothing was changed.', alert: true },
  'Build Started': { when: 'An image build starts (one per distinct build; services with the same build settings share one).', alert: false },
  'Build Reused': { when: 'A service\u2019s build context is unchanged, so its existing image is reused instead of rebuilt.', alert: false },
  'Build Succeeded': { when: 'An image build finished.', alert: false },
  'Build Failed': { when: 'An image build failed; the deploy stops and the previous release keeps serving.', alert: true },
  'Release Created': { when: 'A new immutable release (build + environment version) was recorded.', alert: false },
  'Resources Provisioned': { when: 'The app\u2019s resources (databases, caches) are ready.', alert: false },
  'Resource Provisioning Failed': { when: 'A resource could not be created or updated; the deploy stops before any rollout.', alert: true },
  'Rollout Started': { when: 'The runtime started rolling the new release out.', alert: false },
  'Rollout Failed': { when: 'The rollout failed (crash loop, image pull error, missed progress deadline).', alert: true },
  'Health Gate Passed': { when: 'Every routable service answered its health path and the bake period passed without restarts.', alert: false },
  'Health Gate Failed': { when: 'A health gate failed: a health path did not answer, a process restarted, or an alarm fired.', alert: true },
  'Deployment Succeeded': { when: 'The new release was promoted and serves.', alert: false },
  'Deployment Failed': { when: 'The deploy failed before anything was rolled out; the previous release keeps serving.', alert: true },
  'Deployment Rolled Back': { when: 'A deploy failed after its rollout began and the previous release was rolled back in.', alert: true },
  'Rollback Started': { when: 'An operator started a rollback from the console.', alert: false },
  'Rollback Succeeded': { when: 'A console rollback finished: a new release copied from the target serves, and the app is pinned.', alert: false },
  'Rollback Failed': { when: 'A console rollback failed.', alert: true },
  'Promotion Started': { when: 'An operator promoted an existing release (`releases promote`, `env set --promote`, `scale`): it rolls out as it is, without a copy and without pinning the app.', alert: false },
  'Promotion Succeeded': { when: 'A promoted release passed its rollout and health gates and serves.', alert: false },
  'Promotion Failed': { when: 'A promotion failed; the release that served before was put back.', alert: true },
  'Deployment Cancelled': { when: 'An operator cancelled a running deploy (`apps cancel`); the release that served before was put back.', alert: false },
  'App Deleted': { when: 'An app was deleted with its releases, processes and resources.', alert: false },
  'App Unpinned': { when: 'An operator unpinned an app, so uploads deploy again.', alert: false },
  'Timer Started': { when: 'A timer\u2019s run started.', alert: false },
  'Timer Succeeded': { when: 'A timer\u2019s run finished with exit code 0.', alert: false },
  'Timer Failed': { when: 'A timer\u2019s run failed.', alert: true },
  'Timer Skipped': { when: 'A run was skipped because the previous one still runs and the timer has concurrency: forbid.', alert: false },
  'Run Started': { when: 'A one-off job started (`slipway run`, `slipway test`).', alert: false },
  'Run Succeeded': { when: 'A one-off job finished with exit code 0.', alert: false },
  'Run Failed': { when: 'A one-off job failed (its exit code and last output are in the reason).', alert: false },
  'Cleanup Completed': { when: 'The daily cleanup finished (releases, bundles and images pruned, stale locks expired).', alert: false },
  'Lock Expired': { when: 'An app\u2019s deploy lock was found past its lease (a deploy stopped without releasing it) and was freed.', alert: true },
} as const satisfies Record<string, { when: string; alert: boolean }>;

export type EventType = keyof typeof EVENT_TYPES;

export class UnknownEventTypeError extends SlipwayError {
  constructor(type: string) {
    super(`unknown event type: ${type}`, 'UNKNOWN_EVENT_TYPE', { type });
  }
}

/** Where events go: EventBridge on AWS, a JSONL log (and a webhook) on the local rack. */
export interface EventSink {
  put(events: readonly SlipwayEvent[]): Promise<void>;
}

/** Values shorter than this are not redacted: they would blank out ordinary words. */
const MIN_SECRET_LENGTH = 4;

/**
 * The password of a URL's userinfo (`redis://:<pw>@host`, `postgres://app:<pw>@host/db`): the
 * shape every resource's `<NAME>_URL` has, which an app that cannot connect tends to print. It is
 * masked whether or not the caller knew the password (a resource's is not in the app's env).
 */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:)[^\s/?#@]+@/gi;

/** Replace every occurrence of a secret value with `****`, and the password of any URL that carries one. */
export function redact(text: string, secrets: Iterable<string>): string {
  let out = text;
  const values = [...new Set(secrets)].filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  for (const value of values) out = out.split(value).join('****');
  return out.replace(URL_PASSWORD, '$1****@');
}

const WITHHELD = '(withheld: the rack could not read the secrets to redact it with)';

/** Secrets the rack holds for an app beyond its environment (its resources' passwords). */
export type RackSecrets = (app: string) => Promise<Iterable<string>>;

/**
 * Builds and sends events. Every free-text field (the reason, a job's command) is redacted against
 * the values it is given (the app's environment) and those `rackSecrets` knows for the app (its
 * resources' passwords), so a failure reason that quotes a log line cannot leak one.
 */
export class EventPublisher {
  constructor(
    private readonly sink: EventSink,
    private readonly clock: () => Date = () => new Date(),
    private readonly rackSecrets?: RackSecrets,
  ) {}

  event(type: EventType, detail: EventDetail, secrets: Iterable<string> = []): SlipwayEvent {
    if (!Object.prototype.hasOwnProperty.call(EVENT_TYPES, type)) throw new UnknownEventTypeError(type);
    const values = [...secrets];
    const safe: EventDetail = {
      ...detail,
      ...(detail.reason === undefined ? {} : { reason: redact(detail.reason, values) }),
      ...(detail.command === undefined ? {} : { command: redact(detail.command, values) }),
    };
    return { id: randomUUID(), source: EVENT_SOURCE, 'detail-type': type, time: this.clock().toISOString(), detail: safe };
  }

  async emit(type: EventType, detail: EventDetail, secrets: Iterable<string> = []): Promise<SlipwayEvent> {
    let safe = detail;
    let known: Iterable<string> = [];
    if ((detail.reason !== undefined || detail.command !== undefined) && this.rackSecrets) {
      try {
        known = await this.rackSecrets(detail.app);
      } catch {
        // Without them the text cannot be shown safely: the event goes out without it.
        safe = { ...detail, ...(detail.reason === undefined ? {} : { reason: WITHHELD }), ...(detail.command === undefined ? {} : { command: WITHHELD }) };
      }
    }
    const e = this.event(type, safe, [...secrets, ...known]);
    await this.sink.put([e]);
    return e;
  }
}

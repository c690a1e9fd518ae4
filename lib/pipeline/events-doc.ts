/**
 * docs/events.md, generated from the event catalogue so the two cannot drift:
 * `npm run docs:events` writes it; a test fails when it is stale.
 */
import type { EventDetail, EventType } from './events';
import { EVENT_SOURCE, EVENT_TYPES } from './events';

const B = 'BKQWERTYUIO' as const;
const R = 'RHJKLZXCVBN' as const;
const PREVIOUS = 'RMNBVCXZLKJ' as const;
const EXECUTION = 'deploy-shop-3f9a1c2e';
const BUNDLE = { key: 'apps/shop/bundles/20261128-1204.tgz', version: '3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY' };

/** One realistic detail per event type (the record type makes the list complete). */
const EXAMPLES: Record<EventType, EventDetail> = {
  'Deployment Queued': { app: 'shop', execution: EXECUTION, bundle: BUNDLE, reason: 'deploy deploy-shop-77c0d1b4 holds the app' },
  'Deployment Started': { app: 'shop', execution: EXECUTION, bundle: BUNDLE },
  'Deployment Superseded': { app: 'shop', execution: EXECUTION, bundle: BUNDLE, reason: 'a newer bundle (version 9xQ2...) arrived while this one waited' },
  'Bundle Rejected': { app: 'shop', execution: EXECUTION, bundle: BUNDLE, reason: 'the bundle has a path that climbs out of its folder: ../../etc/cron.d/x' },
  'Build Started': { app: 'shop', build: B, service: 'web', execution: EXECUTION },
  'Build Reused': { app: 'shop', build: B, service: 'notifications', execution: EXECUTION, reason: 'build context unchanged since build BPOIUYTREWQ' },
  'Build Succeeded': { app: 'shop', build: B, service: 'web', execution: EXECUTION, durationMs: 84_210 },
  'Build Failed': { app: 'shop', build: B, service: 'web', execution: EXECUTION, durationMs: 12_004, reason: 'RUN npm ci exited with code 1: npm ERR! missing script: build' },
  'Release Created': { app: 'shop', build: B, release: R, execution: EXECUTION },
  'Resources Provisioned': { app: 'shop', release: R, execution: EXECUTION, durationMs: 1_520, counts: { resources: 2 } },
  'Resource Provisioning Failed': { app: 'shop', resource: 'mydb', execution: EXECUTION, reason: 'postgres did not accept connections within 60s' },
  'Rollout Started': { app: 'shop', release: R, previousRelease: PREVIOUS, execution: EXECUTION },
  'Rollout Failed': { app: 'shop', release: R, service: 'web', execution: EXECUTION, durationMs: 95_000, reason: 'crash loop: web exited with code 1 three times; last lines: Error: Cannot find module \'express\'' },
  'Health Gate Passed': { app: 'shop', release: R, execution: EXECUTION, durationMs: 61_000, counts: { services: 2 } },
  'Health Gate Failed': { app: 'shop', release: R, service: 'web', execution: EXECUTION, reason: 'GET /health answered 503 five times in a row' },
  'Deployment Succeeded': { app: 'shop', release: R, previousRelease: PREVIOUS, build: B, services: ['web'], execution: EXECUTION, durationMs: 241_800 },
  'Deployment Failed': { app: 'shop', execution: EXECUTION, bundle: BUNDLE, reason: 'build BKQWERTYUIO failed' },
  'Deployment Rolled Back': { app: 'shop', release: R, previousRelease: PREVIOUS, execution: EXECUTION, reason: 'Health Gate Failed: web: GET /health answered 503 five times in a row' },
  'Rollback Started': { app: 'shop', release: PREVIOUS, execution: 'rollback-shop-1b2c' },
  'Rollback Succeeded': { app: 'shop', release: R, previousRelease: PREVIOUS, execution: 'rollback-shop-1b2c', reason: 'rollback to RMNBVCXZLKJ; the app is pinned until unpinned' },
  'Rollback Failed': { app: 'shop', release: PREVIOUS, execution: 'rollback-shop-1b2c', reason: 'release RMNBVCXZLKJ not found' },
  'Promotion Started': { app: 'shop', release: R, previousRelease: PREVIOUS, execution: 'promote-shop-2c3d' },
  'Promotion Succeeded': { app: 'shop', release: R, previousRelease: PREVIOUS, execution: 'promote-shop-2c3d' },
  'Promotion Failed': { app: 'shop', release: R, previousRelease: PREVIOUS, execution: 'promote-shop-2c3d', reason: 'web: GET /health answered 500' },
  'Deployment Cancelled': { app: 'shop', release: PREVIOUS, execution: 'cancel-shop-3d4e', reason: 'the running deploy was cancelled by an operator; the release that served before serves' },
  'App Deleted': { app: 'shop', reason: 'deleted by an operator' },
  'App Unpinned': { app: 'shop', release: R, reason: 'unpinned by operator@example.com' },
  'Timer Started': { app: 'shop', timer: 'cleanup', service: 'web', release: R, execution: 'timer-shop-cleanup-0300' },
  'Timer Succeeded': { app: 'shop', timer: 'cleanup', service: 'web', release: R, durationMs: 4_210 },
  'Timer Failed': { app: 'shop', timer: 'cleanup', service: 'web', release: R, durationMs: 1_002, reason: 'exited with code 2' },
  'Timer Skipped': { app: 'shop', timer: 'cleanup', service: 'web', reason: 'the previous run still runs and the timer has concurrency: forbid' },
  'Run Started': { app: 'shop', service: 'web', release: R, command: 'bin/migrate', job: 'run-web-k3j9x', execution: 'run-shop-4e5f' },
  'Run Succeeded': { app: 'shop', service: 'web', release: R, command: 'bin/migrate', execution: 'run-shop-4e5f', durationMs: 4_210 },
  'Run Failed': { app: 'shop', service: 'web', release: R, command: 'npm test', execution: 'run-shop-4e5f', durationMs: 9_870, reason: 'exited with code 1; last output: 1 failing | expected 200, got 500' },
  'Cleanup Completed': { app: 'shop', counts: { releasesKept: 10, releasesDeleted: 4, bundlesDeleted: 4, imagesDeleted: 3 } },
  'Lock Expired': { app: 'shop', execution: 'deploy-shop-77c0d1b4', reason: 'the lease expired at 2026-11-28T12:10:00Z' },
};

export function renderEventsDoc(): string {
  const lines = [
    '# Events',
    '',
    `Every step of the pipeline reports what happened as an event with source \`${EVENT_SOURCE}\`: on an AWS rack to the rack's`,
    'EventBridge bus (rules route the alerting ones to SNS and, optionally, a webhook), on the local rack to',
    '`events.jsonl` in the state directory and to the webhook you configure. A detail names the app and what the event',
    'concerns, why, and how long it took. It never carries an environment value or a password: free text (reasons, log',
    'lines) is redacted against the app\'s environment and resource passwords before it is sent.',
    '',
    'This page is generated from `lib/pipeline/events.ts` by `npm run docs:events`. The Deploy, Rollback, Timer and Cleanup',
    'state machines emit them (`lib/pipeline/steps/`).',
    '',
    '| detail-type | when | alerts |',
    '|---|---|---|',
    ...Object.entries(EVENT_TYPES).map(([type, t]) => `| \`${type}\` | ${t.when} | ${t.alert ? 'yes' : ''} |`),
    '',
    '## Examples',
    '',
  ];
  for (const type of Object.keys(EVENT_TYPES) as EventType[]) {
    const example = { id: '6f1c2d3e-0000-4000-8000-000000000000', source: EVENT_SOURCE, 'detail-type': type, time: '2026-11-28T12:04:31.000Z', detail: EXAMPLES[type] };
    lines.push(`### ${type}`, '', '```json', JSON.stringify(example, null, 2), '```', '');
  }
  return lines.join('\n');
}

import type { Manifest } from '../types';
import type { Finding } from './finding';
import { parseGoDuration } from './go-parsers';

const q = JSON.stringify;
const HOUR = 3600e9;

/** The `budget` block's cross-field rules; returns errors and the warnings Convox prints to stderr. */
export function validateBudget(m: Manifest): { errors: Finding[]; warnings: Finding[] } {
  const b = m.budget ?? {};
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  const set =
    (b.atCapAction ?? '') !== '' ||
    (b.monthlyCapUsd ?? 0) !== 0 ||
    (b.atCapWebhookUrl ?? '') !== '' ||
    (b.neverAutoShutdown ?? []).length > 0 ||
    (b.shutdownOrder ?? '') !== '' ||
    (b.notifyBeforeMinutes ?? 0) !== 0 ||
    (b.shutdownGracePeriod ?? '') !== '' ||
    (b.recoveryMode ?? '') !== '';
  if (!set) return { errors, warnings };

  const action = b.atCapAction ?? '';
  if (action !== '' && !['alert-only', 'block-new-deploys', 'auto-shutdown'].includes(action)) {
    errors.push({ message: `budget.atCapAction must be one of "alert-only", "block-new-deploys", "auto-shutdown"; got ${q(action)}`, path: 'budget.atCapAction' });
  }
  const autoShutdown = action === 'auto-shutdown';
  if (autoShutdown && (b.atCapWebhookUrl ?? '').trim() === '') {
    errors.push({
      message: 'budget.atCapAction "auto-shutdown" requires budget.atCapWebhookUrl to be set; auto-shutdown silently killing services without notification is rejected by design',
      path: 'budget.atCapAction',
      hint: 'add budget.atCapWebhookUrl: https://...',
    });
  }
  const cap = b.monthlyCapUsd ?? 0;
  if (autoShutdown && !(cap > 0)) {
    errors.push({ message: 'budget.atCapAction "auto-shutdown" requires budget.monthlyCapUsd > 0; cannot shut down on cap breach without a cap', path: 'budget.monthlyCapUsd' });
  }
  const names = new Set(m.services.map((s) => s.name));
  (b.neverAutoShutdown ?? []).forEach((name, i) => {
    if (!names.has(name)) {
      warnings.push({ message: `WARNING: budget.neverAutoShutdown contains ${q(name)} which is not a service in this manifest; ignoring at runtime`, path: `budget.neverAutoShutdown[${i}]` });
    }
  });
  const notify = b.notifyBeforeMinutes ?? 0;
  if (notify !== 0 && (notify < 5 || notify > 1440)) {
    errors.push({ message: `budget.notifyBeforeMinutes must be between 5 and 1440; got ${notify}`, path: 'budget.notifyBeforeMinutes' });
  }
  const grace = b.shutdownGracePeriod ?? '';
  if (grace.trim() !== '') {
    const d = parseGoDuration(grace);
    if (d === undefined) {
      errors.push({ message: `budget.shutdownGracePeriod must be a Go duration string (e.g. "5m", "30s"); got ${q(grace)}`, path: 'budget.shutdownGracePeriod', hint: 'use a number with a unit: s, m or h' });
    } else if (d < 0 || d > HOUR) {
      errors.push({ message: `budget.shutdownGracePeriod must be between 0s and 1h; got ${grace}`, path: 'budget.shutdownGracePeriod' });
    }
  }
  const order = b.shutdownOrder ?? '';
  if (order === 'priority-annotation') {
    errors.push({ message: 'budget.shutdownOrder "priority-annotation" reserved for a future release; use "largest-cost" or "newest"', path: 'budget.shutdownOrder' });
  } else if (order !== '' && order !== 'largest-cost' && order !== 'newest') {
    errors.push({ message: `budget.shutdownOrder must be one of "largest-cost", "newest"; got ${q(order)}`, path: 'budget.shutdownOrder' });
  }
  const recovery = b.recoveryMode ?? '';
  if (recovery === 'scheduled') {
    errors.push({ message: 'budget.recoveryMode "scheduled" reserved for 3.25.0; use "auto-on-reset" or "manual"', path: 'budget.recoveryMode' });
  } else if (recovery !== '' && recovery !== 'auto-on-reset' && recovery !== 'manual') {
    errors.push({ message: `budget.recoveryMode must be one of "auto-on-reset", "manual"; got ${q(recovery)}`, path: 'budget.recoveryMode' });
  }
  if (autoShutdown) {
    if (m.services.length === 0) {
      errors.push({
        message: 'budget.atCapAction "auto-shutdown" requires at least one service in the services block; timer-only apps cannot be auto-shut. Use "block-new-deploys" or remove auto-shutdown.',
        path: 'budget.atCapAction',
      });
    } else {
      const exempt = new Set((b.neverAutoShutdown ?? []).filter((n) => names.has(n)));
      if (m.services.every((s) => exempt.has(s.name))) {
        errors.push({
          message:
            'budget.atCapAction "auto-shutdown" with all services listed in neverAutoShutdown leaves no services eligible; either remove a service from neverAutoShutdown or use atCapAction "block-new-deploys"',
          path: 'budget.neverAutoShutdown',
        });
      }
    }
  }
  return { errors, warnings };
}

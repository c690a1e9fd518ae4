/**
 * The AWS rack's event sink: PutEvents on the rack's event bus, the AWS twin of the local rack's
 * JSONL log. Events go in requests of at most 10 entries and under PutEvents' 256 KB limit (sized
 * as EventBridge sizes them: 14 bytes for Time, the UTF-8 bytes of Source, DetailType and Detail).
 *
 * PutEvents can accept a request and still refuse some of its entries (FailedEntryCount, an
 * ErrorCode on the entry). Only those entries are sent again, after an exponential backoff with
 * full jitter, up to `maxAttempts` in all; entries refused for a reason that will not change
 * (MalformedDetail, AccessDeniedException, ...) are not retried. What is still refused in the
 * end is reported by an EventDeliveryError that names how many and why (the error codes), never
 * what the events said.
 */
import type { EventBridgeClient, PutEventsRequestEntry, PutEventsResponse } from '@aws-sdk/client-eventbridge';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SlipwayError } from '../../errors';
import type { EventSink, SlipwayEvent } from '../../pipeline/events';

/** PutEvents' limits: entries per request, and the request's total entry size (which must stay below it). */
export const MAX_ENTRIES_PER_REQUEST = 10;
export const MAX_REQUEST_BYTES = 256 * 1024;
const TIME_BYTES = 14;

/** Per-entry error codes that retrying cannot fix (the PutEventsResultEntry documentation's list). */
const PERMANENT_ERROR_CODES: ReadonlySet<string> = new Set([
  'AccessDeniedException',
  'InvalidAccountIdException',
  'InvalidArgument',
  'MalformedDetail',
  'RedactionFailure',
  'NotAuthorizedForSourceException',
  'NotAuthorizedForDetailTypeException',
]);

/** The error code for a refused entry PutEvents did not explain. */
const UNKNOWN_ERROR = 'Unknown';

/** Events EventBridge did not take. Names the bus, counts and error codes; never an event's detail. */
export class EventDeliveryError extends SlipwayError {
  constructor(
    message: string,
    readonly failed: number,
    readonly errorCodes: Readonly<Record<string, number>>,
    context: Readonly<Record<string, unknown>>,
  ) {
    super(message, 'EVENT_DELIVERY_FAILED', { failed, errorCodes, ...context });
  }
}

/** An event too large for PutEvents on its own; nothing of the batch was sent. */
export class EventTooLargeError extends SlipwayError {
  constructor(eventBus: string, event: SlipwayEvent, bytes: number) {
    super(`event ${event.id} (${event['detail-type']}) is ${bytes} bytes, more than PutEvents takes (${MAX_REQUEST_BYTES - 1}); nothing was sent to ${eventBus}`, 'EVENT_TOO_LARGE', {
      eventBus,
      event: event.id,
      detailType: event['detail-type'],
      bytes,
    });
  }
}

export interface EventBridgeEventSinkOptions {
  /** Attempts in all for an entry PutEvents refuses (default 4; 1 means no retry). */
  readonly maxAttempts?: number;
  /** The first retry's backoff ceiling; it doubles each attempt (default 100 ms), capped at `maxBackoffMs`. */
  readonly backoffMs?: number;
  /** The most one backoff waits (default 5 s). */
  readonly maxBackoffMs?: number;
  /** How to wait (tests pass one that records and returns at once). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** The jitter source, in [0, 1) (default Math.random). */
  readonly random?: () => number;
}

interface Pending {
  readonly event: SlipwayEvent;
  readonly entry: PutEventsRequestEntry;
  readonly bytes: number;
}

interface Failure {
  readonly pending: Pending;
  readonly code: string;
}

const byteLength = (text: string | undefined): number => (text === undefined ? 0 : Buffer.byteLength(text, 'utf8'));

export class EventBridgeEventSink implements EventSink {
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
    options: EventBridgeEventSinkOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 4;
    this.backoffMs = options.backoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) throw new SlipwayError(`maxAttempts must be a whole number of at least 1, not ${this.maxAttempts}`, 'INVALID_OPTION', { maxAttempts: this.maxAttempts });
    if (!(this.backoffMs >= 0) || !(this.maxBackoffMs >= 0)) throw new SlipwayError('backoffMs and maxBackoffMs must not be negative', 'INVALID_OPTION', { backoffMs: this.backoffMs, maxBackoffMs: this.maxBackoffMs });
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  async put(events: readonly SlipwayEvent[]): Promise<void> {
    if (events.length === 0) return;
    // Every entry is sized before anything is sent: one that can never go stops the batch whole.
    let pending = events.map((e) => this.pending(e));

    const permanent: Failure[] = [];
    let retryable: Failure[] = [];
    let attempts = 0;
    while (pending.length > 0) {
      attempts += 1;
      const failures: Failure[] = [];
      const round = batches(pending);
      for (const [i, batch] of round.entries()) {
        try {
          failures.push(...(await this.send(batch)));
        } catch (e) {
          throw this.requestFailed(e, events.length, [...permanent, ...failures], round.slice(i).flat());
        }
      }
      permanent.push(...failures.filter((f) => PERMANENT_ERROR_CODES.has(f.code)));
      retryable = failures.filter((f) => !PERMANENT_ERROR_CODES.has(f.code));
      if (retryable.length === 0 || attempts >= this.maxAttempts) break;
      await this.sleep(this.backoff(attempts));
      pending = retryable.map((f) => f.pending);
    }

    const failed = [...permanent, ...retryable];
    if (failed.length === 0) return;
    const errorCodes = countCodes(failed.map((f) => f.code));
    const codes = Object.entries(errorCodes)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([code, n]) => `${code} x${n}`)
      .join(', ');
    throw new EventDeliveryError(`${failed.length} of ${events.length} event${events.length === 1 ? '' : 's'} could not be put on event bus ${this.busName} after ${attempts} attempt${attempts === 1 ? '' : 's'} (${codes})`, failed.length, errorCodes, {
      eventBus: this.busName,
      total: events.length,
      attempts,
      events: failed.map((f) => f.pending.event.id),
      detailTypes: [...new Set(failed.map((f) => f.pending.event['detail-type']))],
    });
  }

  private pending(event: SlipwayEvent): Pending {
    const time = new Date(event.time);
    const entry: PutEventsRequestEntry = {
      Source: event.source,
      DetailType: event['detail-type'],
      Detail: JSON.stringify(event.detail),
      EventBusName: this.busName,
      // An unreadable time is left out: EventBridge stamps the event when it arrives.
      ...(Number.isNaN(time.getTime()) ? {} : { Time: time }),
    };
    const bytes = (entry.Time ? TIME_BYTES : 0) + byteLength(entry.Source) + byteLength(entry.DetailType) + byteLength(entry.Detail);
    if (bytes >= MAX_REQUEST_BYTES) throw new EventTooLargeError(this.busName, event, bytes);
    return { event, entry, bytes };
  }

  /** One PutEvents request; returns the entries it refused. */
  private async send(batch: readonly Pending[]): Promise<Failure[]> {
    const out: PutEventsResponse = await this.client.send(new PutEventsCommand({ Entries: batch.map((p) => p.entry) }));
    const results = out.Entries ?? [];
    const failures: Failure[] = [];
    batch.forEach((p, i) => {
      const result = results[i];
      if (result?.ErrorCode) failures.push({ pending: p, code: result.ErrorCode });
      // Refused entries PutEvents counted but did not point out: send again those without an id.
      else if ((out.FailedEntryCount ?? 0) > 0 && !result?.EventId) failures.push({ pending: p, code: UNKNOWN_ERROR });
    });
    return failures;
  }

  /**
   * PutEvents itself failed (the SDK has already retried what it could). Its message may quote a
   * value of the request (validation errors do), so only the error's name and request id are
   * passed on, with the events that were not delivered: those refused so far, and those this
   * request and the ones after it would have carried.
   */
  private requestFailed(e: unknown, total: number, refused: readonly Failure[], unsent: readonly Pending[]): EventDeliveryError {
    const err = e as { name?: unknown; $metadata?: { requestId?: unknown; httpStatusCode?: unknown } } | null | undefined;
    const name = typeof err?.name === 'string' && err.name !== '' ? err.name : 'Error';
    const errorCodes = countCodes([...refused.map((f) => f.code), ...unsent.map(() => name)]);
    const undelivered = [...refused.map((f) => f.pending), ...unsent];
    return new EventDeliveryError(`PutEvents on event bus ${this.busName} failed (${name}): ${undelivered.length} of ${total} event${total === 1 ? ' was' : 's were'} not delivered`, undelivered.length, errorCodes, {
      eventBus: this.busName,
      total,
      requestId: err?.$metadata?.requestId,
      httpStatusCode: err?.$metadata?.httpStatusCode,
      events: undelivered.map((p) => p.event.id),
    });
  }

  /** Full jitter: a random wait up to `backoffMs * 2^(attempt-1)`, capped. */
  private backoff(attempt: number): number {
    const ceiling = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** (attempt - 1));
    return Math.floor(this.random() * ceiling);
  }
}

function countCodes(codes: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const code of codes) out[code] = (out[code] ?? 0) + 1;
  return out;
}

/** Consecutive groups of at most 10 entries whose sizes add up to less than 256 KB. */
function batches(pending: readonly Pending[]): Pending[][] {
  const out: Pending[][] = [];
  let current: Pending[] = [];
  let bytes = 0;
  for (const p of pending) {
    if (current.length > 0 && (current.length >= MAX_ENTRIES_PER_REQUEST || bytes + p.bytes >= MAX_REQUEST_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(p);
    bytes += p.bytes;
  }
  if (current.length > 0) out.push(current);
  return out;
}

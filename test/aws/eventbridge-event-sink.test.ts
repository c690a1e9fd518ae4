/** The AWS rack's event sink: PutEvents in batches, retrying only refused entries (EventBridge: aws-sdk-client-mock). */
import type { PutEventsRequest, PutEventsRequestEntry, PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { EventBridgeClient, EventBridgeServiceException, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventBridgeEventSink, EventDeliveryError, EventTooLargeError } from '../../lib/aws/adapters/eventbridge-event-sink';
import type { EventType, SlipwayEvent } from '../../lib/pipeline/events';
import { EventPublisher } from '../../lib/pipeline/events';

const BUS = 'slipway-events';
const SECRET = 'hunter2-super-secret-value';

const eventbridge = mockClient(EventBridgeClient);
const client = new EventBridgeClient({ region: 'us-east-1' });

function event(i: number, type: EventType = 'Build Started', reason?: string): SlipwayEvent {
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    source: 'slipway',
    'detail-type': type,
    time: new Date(Date.UTC(2026, 10, 28, 12, 0, i)).toISOString(),
    detail: { app: 'shop', build: 'BABCDEFGHIJ', counts: { n: i }, ...(reason === undefined ? {} : { reason }) },
  };
}

const events = (n: number): SlipwayEvent[] => Array.from({ length: n }, (_, i) => event(i));

/** The PutEvents requests made so far. */
const requests = (): PutEventsRequest[] => eventbridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input);
/** Which events (by their `counts.n`) a request carried. */
const numbers = (entries: readonly PutEventsRequestEntry[] | undefined): number[] => (entries ?? []).map((e) => (JSON.parse(e.Detail ?? '{}') as { counts: { n: number } }).counts.n);

/** A PutEvents answer accepting every entry except those at `refused` (index to error code). */
function answer(count: number, refused: Readonly<Record<number, string>> = {}): { FailedEntryCount: number; Entries: PutEventsResultEntry[] } {
  const Entries = Array.from({ length: count }, (_, i): PutEventsResultEntry => {
    const code = refused[i];
    // The message quotes a secret, as a service message might: it must not reach our error.
    return code === undefined ? { EventId: `id-${i}` } : { ErrorCode: code, ErrorMessage: `refused: ${SECRET}` };
  });
  return { FailedEntryCount: Object.keys(refused).length, Entries };
}

/** Accepts everything. */
function acceptAll(): void {
  eventbridge.on(PutEventsCommand).callsFake((input: PutEventsRequest) => answer(input.Entries?.length ?? 0));
}

function sink(options: ConstructorParameters<typeof EventBridgeEventSink>[2] = {}): { sink: EventBridgeEventSink; sleeps: number[] } {
  const sleeps: number[] = [];
  const s = new EventBridgeEventSink(client, BUS, {
    backoffMs: 100,
    random: () => 0.5,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    ...options,
  });
  return { sink: s, sleeps };
}

describe('EventBridgeEventSink (EventBridge: aws-sdk-client-mock)', () => {
  beforeEach(() => eventbridge.reset());

  it('puts 23 events in three requests of 10, 10 and 3, in order', async () => {
    acceptAll();
    await sink().sink.put(events(23));
    const sent = requests();
    expect(sent.map((r) => r.Entries?.length)).toEqual([10, 10, 3]);
    expect(sent.flatMap((r) => numbers(r.Entries))).toEqual(Array.from({ length: 23 }, (_, i) => i));
  });

  it('sends each event as Source, DetailType, Detail (the detail as JSON), EventBusName and Time', async () => {
    acceptAll();
    const e = event(7, 'Deployment Succeeded');
    await sink().sink.put([e]);
    const [request] = requests();
    expect(request).toEqual({
      Entries: [{ Source: 'slipway', DetailType: 'Deployment Succeeded', Detail: JSON.stringify(e.detail), EventBusName: BUS, Time: new Date(e.time) }],
    });
    expect(JSON.parse(request?.Entries?.[0]?.Detail ?? '')).toEqual(e.detail);
  });

  it('carries what EventPublisher emits, redacted', async () => {
    acceptAll();
    const publisher = new EventPublisher(sink().sink, () => new Date('2026-11-28T12:00:00Z'));
    await publisher.emit('Build Failed', { app: 'shop', reason: `npm ERR! token ${SECRET} rejected` }, [SECRET]);
    const entry = requests()[0]?.Entries?.[0];
    expect(entry).toMatchObject({ Source: 'slipway', DetailType: 'Build Failed', EventBusName: BUS, Time: new Date('2026-11-28T12:00:00Z') });
    expect(JSON.parse(entry?.Detail ?? '')).toEqual({ app: 'shop', reason: 'npm ERR! token **** rejected' });
    expect(entry?.Detail).not.toContain(SECRET);
  });

  it('sends nothing for no events', async () => {
    acceptAll();
    await sink().sink.put([]);
    expect(requests()).toHaveLength(0);
  });

  it('keeps each request under 256 KB', async () => {
    acceptAll();
    const big = Array.from({ length: 5 }, (_, i) => event(i, 'Build Failed', 'x'.repeat(100 * 1024)));
    await sink().sink.put(big);
    const sent = requests();
    expect(sent.map((r) => r.Entries?.length)).toEqual([2, 2, 1]);
    for (const r of sent) {
      const bytes = (r.Entries ?? []).reduce((n, e) => n + 14 + Buffer.byteLength(e.Source ?? '') + Buffer.byteLength(e.DetailType ?? '') + Buffer.byteLength(e.Detail ?? ''), 0);
      expect(bytes).toBeLessThan(256 * 1024);
    }
  });

  it('counts the detail in UTF-8 bytes, not characters', async () => {
    acceptAll();
    // 40,000 three-byte characters: 120 KB in UTF-8, though only 40,000 characters long.
    const wide = Array.from({ length: 3 }, (_, i) => event(i, 'Build Failed', '\u20ac'.repeat(40_000)));
    await sink().sink.put(wide);
    expect(requests().map((r) => r.Entries?.length)).toEqual([2, 1]);
  });

  it('refuses an event too large for PutEvents before sending anything, naming it but not its content', async () => {
    acceptAll();
    const huge = event(1, 'Build Failed', `${SECRET}${'x'.repeat(260 * 1024)}`);
    const error = await sink()
      .sink.put([event(0), huge])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventTooLargeError);
    expect(error).toMatchObject({ code: 'EVENT_TOO_LARGE', context: { event: huge.id, detailType: 'Build Failed', eventBus: BUS } });
    expect(JSON.stringify({ message: (error as Error).message, context: (error as EventTooLargeError).context })).not.toContain(SECRET);
    expect(requests()).toHaveLength(0);
  });

  it('retries only the entries PutEvents refused, after a backoff', async () => {
    eventbridge
      .on(PutEventsCommand)
      .callsFakeOnce((input: PutEventsRequest) => answer(input.Entries?.length ?? 0, { 3: 'ThrottlingException', 7: 'InternalFailure' }))
      .callsFake((input: PutEventsRequest) => answer(input.Entries?.length ?? 0));
    const { sink: s, sleeps } = sink();
    await s.put(events(10));
    const sent = requests();
    expect(sent).toHaveLength(2);
    expect(numbers(sent[0]?.Entries)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(numbers(sent[1]?.Entries)).toEqual([3, 7]);
    // The retried entries are the same entries, whole.
    expect(sent[1]?.Entries).toEqual([sent[0]?.Entries?.[3], sent[0]?.Entries?.[7]]);
    expect(sleeps).toEqual([50]);
  });

  it('gathers the refused entries of every batch into the retry', async () => {
    eventbridge
      .on(PutEventsCommand)
      .callsFakeOnce((input: PutEventsRequest) => answer(input.Entries?.length ?? 0, { 0: 'ThrottlingException' }))
      .callsFakeOnce((input: PutEventsRequest) => answer(input.Entries?.length ?? 0))
      .callsFakeOnce((input: PutEventsRequest) => answer(input.Entries?.length ?? 0, { 1: 'InternalFailure', 2: 'InternalFailure' }))
      .callsFake((input: PutEventsRequest) => answer(input.Entries?.length ?? 0));
    await sink().sink.put(events(23));
    expect(requests().map((r) => numbers(r.Entries))).toEqual([Array.from({ length: 10 }, (_, i) => i), Array.from({ length: 10 }, (_, i) => i + 10), [20, 21, 22], [0, 21, 22]]);
  });

  it('treats entries PutEvents counted as failed but did not mark as refused, when they have no event id', async () => {
    eventbridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, {}, { EventId: 'c' }] })
      .callsFake((input: PutEventsRequest) => answer(input.Entries?.length ?? 0));
    await sink().sink.put(events(3));
    expect(requests().map((r) => numbers(r.Entries))).toEqual([[0, 1, 2], [1]]);
  });

  it('backs off exponentially with jitter, capped', async () => {
    eventbridge.on(PutEventsCommand).callsFake((input: PutEventsRequest) => answer(input.Entries?.length ?? 0, { 0: 'ThrottlingException' }));
    const half = sink({ maxAttempts: 5 });
    await expect(half.sink.put(events(1))).rejects.toBeInstanceOf(EventDeliveryError);
    expect(half.sleeps).toEqual([50, 100, 200, 400]);

    eventbridge.resetHistory();
    const capped = sink({ maxAttempts: 5, random: () => 0.999, maxBackoffMs: 300 });
    await expect(capped.sink.put(events(1))).rejects.toBeInstanceOf(EventDeliveryError);
    expect(capped.sleeps).toEqual([99, 199, 299, 299]);

    const jittered = sink({ maxAttempts: 5, random: () => 0 });
    await expect(jittered.sink.put(events(1))).rejects.toBeInstanceOf(EventDeliveryError);
    expect(jittered.sleeps).toEqual([0, 0, 0, 0]);
  });

  it('gives up after maxAttempts with a typed error that counts the failures by error code, never quoting an event', async () => {
    eventbridge.on(PutEventsCommand).callsFake((input: PutEventsRequest) => {
      const n = input.Entries?.length ?? 0;
      // Entries whose detail says "stuck" are always refused.
      const refused: Record<number, string> = {};
      (input.Entries ?? []).forEach((e, i) => {
        if (e.Detail?.includes(SECRET)) refused[i] = i % 2 === 0 ? 'ThrottlingException' : 'InternalFailure';
      });
      return answer(n, refused);
    });
    const batch = [event(0), event(1, 'Build Failed', `stuck ${SECRET}`), event(2, 'Build Failed', `stuck ${SECRET}`), event(3, 'Rollout Failed', `stuck ${SECRET}`), event(4)];
    const { sink: s, sleeps } = sink({ maxAttempts: 3 });
    const error = await s.put(batch).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventDeliveryError);
    const e = error as EventDeliveryError;
    expect(e.code).toBe('EVENT_DELIVERY_FAILED');
    expect(e.failed).toBe(3);
    expect(e.message).toContain('3 of 5 events');
    expect(e.message).toContain(BUS);
    expect(e.message).toContain('after 3 attempts');
    expect(e.message).toMatch(/InternalFailure x\d, ThrottlingException x\d/);
    expect(Object.values(e.errorCodes).reduce((a, b) => a + b, 0)).toBe(3);
    expect(e.context).toMatchObject({ eventBus: BUS, total: 5, attempts: 3, failed: 3, events: [batch[1]?.id, batch[2]?.id, batch[3]?.id], detailTypes: ['Build Failed', 'Rollout Failed'] });
    // Neither the details nor the service's messages (which quote one here) reach the error.
    const everything = JSON.stringify({ message: e.message, context: e.context, stack: e.stack });
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain('stuck');
    expect(requests().map((r) => r.Entries?.length)).toEqual([5, 3, 3]);
    expect(sleeps).toHaveLength(2);
  });

  it('does not retry entries refused for a reason that will not change', async () => {
    // Event 0 is malformed (for good), event 1 throttled (every time).
    const codes: Record<number, string> = { 0: 'MalformedDetail', 1: 'ThrottlingException' };
    eventbridge.on(PutEventsCommand).callsFake((input: PutEventsRequest) => {
      const refused: Record<number, string> = {};
      numbers(input.Entries).forEach((n, i) => {
        const code = codes[n];
        if (code !== undefined) refused[i] = code;
      });
      return answer(input.Entries?.length ?? 0, refused);
    });
    const error = await sink({ maxAttempts: 3 })
      .sink.put(events(3))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventDeliveryError);
    expect((error as EventDeliveryError).errorCodes).toEqual({ MalformedDetail: 1, ThrottlingException: 1 });
    expect(requests().map((r) => numbers(r.Entries))).toEqual([[0, 1, 2], [1], [1]]);
  });

  it('does not retry at all with maxAttempts 1', async () => {
    eventbridge.on(PutEventsCommand).callsFake((input: PutEventsRequest) => answer(input.Entries?.length ?? 0, { 0: 'InternalFailure' }));
    const { sink: s, sleeps } = sink({ maxAttempts: 1 });
    await expect(s.put(events(2))).rejects.toThrow('1 of 2 events could not be put on event bus slipway-events after 1 attempt (InternalFailure x1)');
    expect(requests()).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('reports a failed PutEvents call by its error name and the events not delivered, without its message', async () => {
    eventbridge
      .on(PutEventsCommand)
      .callsFakeOnce((input: PutEventsRequest) => answer(input.Entries?.length ?? 0))
      .rejects(new EventBridgeServiceException({ name: 'ValidationException', $fault: 'client', message: `Value '${SECRET}' at 'entries.1.member.detail' failed to satisfy constraint`, $metadata: { requestId: 'req-1', httpStatusCode: 400 } }));
    const error = await sink()
      .sink.put(events(23))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventDeliveryError);
    const e = error as EventDeliveryError;
    expect(e.message).toBe('PutEvents on event bus slipway-events failed (ValidationException): 13 of 23 events were not delivered');
    expect(e.errorCodes).toEqual({ ValidationException: 13 });
    expect(e.context).toMatchObject({ requestId: 'req-1', httpStatusCode: 400, total: 23 });
    expect(JSON.stringify({ message: e.message, context: e.context, cause: e.cause })).not.toContain(SECRET);
  });

  it('refuses options that make no sense', () => {
    expect(() => new EventBridgeEventSink(client, BUS, { maxAttempts: 0 })).toThrow('maxAttempts');
    expect(() => new EventBridgeEventSink(client, BUS, { backoffMs: -1 })).toThrow('backoffMs');
  });
});

/** The event catalogue, its documentation, redaction, and the local rack's sink (a real file and a real webhook). */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonlEventSink } from '../../lib/local/jsonl-event-sink';
import { EVENT_TYPES, EventPublisher, redact, UnknownEventTypeError } from '../../lib/pipeline/events';
import type { EventType, SlipwayEvent } from '../../lib/pipeline/events';
import { renderEventsDoc } from '../../lib/pipeline/events-doc';
import { REPO_ROOT } from '../support/paths';

describe('the event catalogue', () => {
  it('is documented in docs/events.md, with an example of every event (run `npm run docs:events` after changing it)', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs/events.md'), 'utf8');
    expect(doc).toBe(renderEventsDoc());
    for (const type of Object.keys(EVENT_TYPES)) expect(doc).toContain(`### ${type}\n`);
  });

  it('redacts secrets from free text, longest first, leaving short values alone', () => {
    expect(redact('password hunter22 and token abc and hunter22x', ['hunter22', 'hunter22x', 'abc'])).toBe('password **** and token abc and ****');
  });

  it('builds events with a redacted reason, and refuses unknown types', async () => {
    const sent: SlipwayEvent[] = [];
    const publisher = new EventPublisher({ put: (e) => Promise.resolve(void sent.push(...e)) }, () => new Date('2026-11-28T12:00:00Z'));
    const e = await publisher.emit('Rollout Failed', { app: 'shop', release: 'RAAAAAAAAAA', reason: 'crash: connecting to postgres://app:s3cretpw@db/shop failed' }, ['s3cretpw']);
    expect(e).toMatchObject({ source: 'slipway', 'detail-type': 'Rollout Failed', time: '2026-11-28T12:00:00.000Z', detail: { reason: 'crash: connecting to postgres://app:****@db/shop failed' } });
    expect(sent).toEqual([e]);
    await expect(publisher.emit('Something Happened' as EventType, { app: 'shop' })).rejects.toBeInstanceOf(UnknownEventTypeError);
  });
});

describe('JsonlEventSink (local rack)', () => {
  it('appends one JSON line per event and POSTs each to the webhook', async () => {
    const received: unknown[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ method: req.method, type: req.headers['content-type'], body: JSON.parse(body) as unknown });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const file = join(mkdtempSync(join(tmpdir(), 'slipway-events-')), 'state/events.jsonl');
    const sink = new JsonlEventSink(file, { webhookUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` });
    const publisher = new EventPublisher(sink);
    await publisher.emit('Deployment Started', { app: 'shop' });
    await publisher.emit('Deployment Succeeded', { app: 'shop', release: 'RAAAAAAAAAA' });
    server.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SlipwayEvent);
    expect(lines.map((l) => l['detail-type'])).toEqual(['Deployment Started', 'Deployment Succeeded']);
    expect(received).toEqual(lines.map((body) => ({ method: 'POST', type: 'application/json', body })));
  });

  it('keeps the event when the webhook is down, and reports the failure', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'slipway-events-')), 'events.jsonl');
    const failures: string[] = [];
    const sink = new JsonlEventSink(file, { webhookUrl: 'http://127.0.0.1:9/unreachable', webhookTimeoutMs: 2000, onWebhookError: (e, err) => failures.push(`${e['detail-type']}: ${err.message}`) });
    await new EventPublisher(sink).emit('Timer Failed', { app: 'shop', timer: 'cleanup' });
    expect(readFileSync(file, 'utf8')).toContain('"Timer Failed"');
    expect(failures).toHaveLength(1);
  });
});

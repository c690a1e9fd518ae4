/**
 * The local rack's event sink: appends each event as one JSON line to a log file (what
 * `slipway events` reads), and optionally POSTs it to a webhook, as EventBridge would deliver it to
 * an API destination. A webhook that is down never fails a deploy; the failure is reported.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { EventSink, SlipwayEvent } from '../pipeline/events';

export interface JsonlEventSinkOptions {
  /** POST each event here as JSON. */
  readonly webhookUrl?: string;
  readonly webhookTimeoutMs?: number;
  /** Told when a webhook delivery fails (default: ignored, the log line is kept). */
  readonly onWebhookError?: (event: SlipwayEvent, error: Error) => void;
}

export class JsonlEventSink implements EventSink {
  constructor(
    private readonly file: string,
    private readonly options: JsonlEventSinkOptions = {},
  ) {}

  async put(events: readonly SlipwayEvent[]): Promise<void> {
    if (events.length === 0) return;
    await mkdir(dirname(this.file), { recursive: true });
    // One write per batch: lines from concurrent writers never interleave within a line.
    await appendFile(this.file, events.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 });
    if (this.options.webhookUrl) await Promise.all(events.map((e) => this.post(e)));
  }

  private async post(event: SlipwayEvent): Promise<void> {
    const url = this.options.webhookUrl as string;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(this.options.webhookTimeoutMs ?? 5000),
      });
      if (!response.ok) throw new Error(`the webhook answered ${response.status}`);
    } catch (e) {
      this.options.onWebhookError?.(event, e as Error);
    }
  }
}

/** Metrics derived from the pipeline's events (Powertools is replaced by a recorder: no CloudWatch here). */
import { describe, expect, it } from 'vitest';
import { MetricsEventSink, metricsOf, PIPELINE_METRICS } from '../../lib/aws/adapters/metrics-event-sink';
import type { EventDetail, EventType, SlipwayEvent } from '../../lib/pipeline/events';

const event = (type: EventType, detail: EventDetail): SlipwayEvent => ({ id: '1', source: 'slipway', 'detail-type': type, time: '2026-11-28T00:00:00Z', detail });

describe('MetricsEventSink (a recorder stands in for Powertools)', () => {
  it('counts a promotion per app and per changed service, with its duration', () => {
    expect(metricsOf(event('Deployment Succeeded', { app: 'shop', services: ['web', 'api'], durationMs: 1200 }))).toEqual([
      { metric: PIPELINE_METRICS.deploys, unit: 'Count', value: 1, dimensions: { app: 'shop' } },
      { metric: PIPELINE_METRICS.deployDuration, unit: 'Milliseconds', value: 1200, dimensions: { app: 'shop' } },
      { metric: PIPELINE_METRICS.serviceDeploys, unit: 'Count', value: 1, dimensions: { app: 'shop', appService: 'web' } },
      { metric: PIPELINE_METRICS.serviceDeploys, unit: 'Count', value: 1, dimensions: { app: 'shop', appService: 'api' } },
    ]);
    expect(metricsOf(event('Build Started', { app: 'shop', service: 'web' }))).toEqual([]);
  });

  it('passes every event on first, then writes failures also with the rack alone, for the alarms', async () => {
    const put: SlipwayEvent[] = [];
    const written: { dimensions: Record<string, string>; metric: string }[] = [];
    const recorder = {
      singleMetric() {
        const dimensions: Record<string, string> = {};
        const m = {
          addDimension: (k: string, v: string) => ((dimensions[k] = v), m),
          addDimensions: (d: Record<string, string>) => (Object.assign(dimensions, d), m),
          addMetric: (metric: string) => (written.push({ dimensions, metric }), m),
        };
        return m;
      },
    };
    const sink = new MetricsEventSink({ put: (events) => (put.push(...events), Promise.resolve()) }, recorder as never, 'prod');
    await sink.put([event('Timer Failed', { app: 'shop', timer: 'cleanup', reason: 'exit 1' })]);
    expect(put).toHaveLength(1);
    expect(written).toEqual([
      { metric: PIPELINE_METRICS.timerFailed, dimensions: { rack: 'prod', app: 'shop', timer: 'cleanup' } },
      { metric: PIPELINE_METRICS.timerFailed, dimensions: { rack: 'prod' } },
    ]);
  });
});

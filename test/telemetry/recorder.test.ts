/**
 * The recorder feeds getMetrics() and the OpenTelemetry instruments from
 * the same calls; these tests read both sides after the same calls.
 */
import { Telemetry } from '../../src/telemetry/otel.ts';
import { TelemetryRecorder } from '../../src/telemetry/recorder.ts';

/** Reads one sample's value from Prometheus text, matching the name and every given label. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) {
      continue;
    }
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return undefined;
}

const instance = (processInstanceId: string) => ({ topic: 'reserve-stock', processInstanceId });

describe('TelemetryRecorder', () => {
  let telemetry: Telemetry;
  let recorder: TelemetryRecorder;

  beforeEach(() => {
    telemetry = new Telemetry({ serviceName: 'recorder-test' });
    recorder = new TelemetryRecorder(telemetry.meter);
  });

  afterEach(async () => {
    await telemetry.shutdown();
  });

  test('tasks count the same on both sides', async () => {
    recorder.taskFinished('complete', instance('pi-1'), 'inventory');
    recorder.taskFinished('complete', instance('pi-1'), 'inventory');
    recorder.taskFinished('bpmnError', instance('pi-2'), 'inventory');
    recorder.taskFinished('failure', instance('pi-3'), 'payments');
    recorder.processInstanceEnded();

    const snapshot = recorder.snapshot();
    const text = await telemetry.prometheusText();

    expect(snapshot.tasksProcessed).toBe(4);
    expect(snapshot.tasksByOutcome).toEqual({ complete: 2, bpmnError: 1, failure: 1 });
    expect(snapshot.tasksByOutcomeTopicService).toEqual({
      'complete/reserve-stock/inventory': 2,
      'bpmnError/reserve-stock/inventory': 1,
      'failure/reserve-stock/payments': 1,
    });
    expect(snapshot.workflowsProcessed).toBe(3);
    expect(snapshot.workflowsEnded).toBe(1);
    expect(sample(text, 'bpmn_router_tasks_total', { bpmn_router_outcome: 'complete', bpmn_router_service: 'inventory' })).toBe(2);
    expect(sample(text, 'bpmn_router_tasks_total', { bpmn_router_outcome: 'bpmnError' })).toBe(1);
    expect(sample(text, 'bpmn_router_tasks_total', { bpmn_router_outcome: 'failure', bpmn_router_service: 'payments' })).toBe(1);
    expect(sample(text, 'bpmn_router_process_instances_seen_total')).toBe(3);
    expect(sample(text, 'bpmn_router_process_instances_ended_total')).toBe(1);
  });

  test('durations average in seconds and fill the histogram', async () => {
    recorder.duration('dispatch', 10);
    recorder.duration('dispatch', 30);
    recorder.duration('fetch', 2_000);

    const snapshot = recorder.snapshot();
    const text = await telemetry.prometheusText();

    expect(snapshot.avgOperationTimes.dispatch).toBeCloseTo(0.02, 6);
    expect(snapshot.avgOperationTimes.fetch).toBeCloseTo(2, 6);
    expect(sample(text, 'bpmn_router_operation_duration_count', { bpmn_router_operation: 'dispatch' })).toBe(2);
    expect(sample(text, 'bpmn_router_operation_duration_sum', { bpmn_router_operation: 'dispatch' })).toBeCloseTo(0.04, 6);
    expect(sample(text, 'bpmn_router_operation_duration_bucket', { bpmn_router_operation: 'dispatch', le: '0.025' })).toBe(1);
    expect(sample(text, 'bpmn_router_operation_duration_bucket', { bpmn_router_operation: 'fetch', le: '2.5' })).toBe(1);
  });

  test('calls count by endpoint and result', async () => {
    recorder.engineCall('complete', { status: 204 });
    recorder.engineCall('complete', { status: 204 });
    recorder.engineCall('fetchAndLock', { errorType: 'ECONNREFUSED' });
    recorder.serviceCall('inventory', { method: 'POST', path: '/reserve' }, { status: 200 });
    recorder.serviceCall('inventory', { method: 'POST', path: '/reserve' }, { status: 503 });

    const snapshot = recorder.snapshot();
    const text = await telemetry.prometheusText();

    expect(snapshot.apiCalls).toEqual({ 'engine:complete': 2, 'engine:fetchAndLock': 1, 'service:inventory': 2 });
    expect(snapshot.apiCallsByResult).toEqual({
      'engine:complete:204': 2,
      'engine:fetchAndLock:ECONNREFUSED': 1,
      'service:inventory:200': 1,
      'service:inventory:503': 1,
    });
    expect(sample(text, 'bpmn_router_engine_calls_total', { bpmn_router_engine_call: 'complete', http_response_status_code: '204' })).toBe(2);
    expect(sample(text, 'bpmn_router_engine_calls_total', { bpmn_router_engine_call: 'fetchAndLock', error_type: 'ECONNREFUSED' })).toBe(1);
    expect(sample(text, 'bpmn_router_service_calls_total', { url_template: '/reserve', http_response_status_code: '503' })).toBe(1);
  });

  test('operation averages keep first-recorded order', () => {
    recorder.duration('dispatch', 10);
    recorder.duration('fetch', 20);
    recorder.duration('dispatch', 30);

    expect(Object.keys(recorder.snapshot().avgOperationTimes)).toEqual(['dispatch', 'fetch']);
  });

  test('status and error type of one call counted apart', async () => {
    recorder.engineCall('complete', { status: 503 });
    recorder.engineCall('complete', { errorType: '503' });
    recorder.engineCall('complete', { status: 503 });
    recorder.serviceCall('inventory', { method: 'POST', path: '/reserve' }, { errorType: 'TimeoutError' });
    recorder.serviceCall('inventory', { method: 'POST', path: '/reserve' }, { status: 200 });
    recorder.serviceCall('inventory', { method: 'GET', path: '/reserve' }, { status: 200 });

    const snapshot = recorder.snapshot();
    const text = await telemetry.prometheusText();
    const seriesOf = (name: string, label: string) => text.split('\n').filter((line) => line.startsWith(`${name}{`) && line.includes(label));

    expect(snapshot.apiCalls).toEqual({ 'engine:complete': 3, 'service:inventory': 3 });
    // The figures key a result by its text, so a status and an error type with the same text share one count.
    expect(snapshot.apiCallsByResult).toEqual({ 'engine:complete:503': 3, 'service:inventory:TimeoutError': 1, 'service:inventory:200': 2 });
    expect(sample(text, 'bpmn_router_engine_calls_total', { bpmn_router_engine_call: 'complete', http_response_status_code: '503' })).toBe(2);
    expect(sample(text, 'bpmn_router_engine_calls_total', { bpmn_router_engine_call: 'complete', error_type: '503' })).toBe(1);
    expect(seriesOf('bpmn_router_engine_calls_total', 'error_type="503"')[0]).not.toContain('http_response_status_code');
    expect(sample(text, 'bpmn_router_service_calls_total', { http_request_method: 'POST', http_response_status_code: '200' })).toBe(1);
    expect(sample(text, 'bpmn_router_service_calls_total', { http_request_method: 'GET', http_response_status_code: '200' })).toBe(1);
    expect(sample(text, 'bpmn_router_service_calls_total', { http_request_method: 'POST', error_type: 'TimeoutError' })).toBe(1);
    expect(seriesOf('bpmn_router_service_calls_total', 'error_type="TimeoutError"')[0]).not.toContain('http_response_status_code');
  });

  test('counts survive many rare results', async () => {
    // More combinations than the recorder keeps attribute sets for, so its cache of them starts over.
    const rareResults = 10_001;
    recorder.engineCall('complete', { status: 204 });
    recorder.taskFinished('complete', instance('pi-1'), 'inventory');
    for (let index = 0; index < rareResults; index += 1) {
      recorder.engineCall('complete', { errorType: `RareError${index}` });
      recorder.taskFinished('failure', { topic: `topic-${index}`, processInstanceId: 'pi-1' }, 'inventory');
    }
    recorder.engineCall('complete', { status: 204 });
    recorder.taskFinished('complete', instance('pi-1'), 'inventory');

    const snapshot = recorder.snapshot();
    const text = await telemetry.prometheusText();

    expect(snapshot.apiCalls).toEqual({ 'engine:complete': rareResults + 2 });
    expect(snapshot.apiCallsByResult['engine:complete:204']).toBe(2);
    expect(Object.keys(snapshot.apiCallsByResult)).toHaveLength(rareResults + 1);
    expect(snapshot.tasksByOutcomeTopicService['complete/reserve-stock/inventory']).toBe(2);
    expect(snapshot.tasksByOutcome).toEqual({ complete: 2, bpmnError: 0, failure: rareResults });
    expect(sample(text, 'bpmn_router_engine_calls_total', { http_response_status_code: '204' })).toBe(2);
    expect(sample(text, 'bpmn_router_tasks_total', { bpmn_topic: 'reserve-stock', bpmn_router_outcome: 'complete' })).toBe(2);
  });

  test('observed sources are read at collection', async () => {
    let hits = 3;
    recorder.observe({
      caches: () => ({ processXml: { hits, misses: 1, size: 1 }, docs: { hits: 0, misses: 0, size: 0 } }),
      queueDepths: () => ({ inventory: 4, '(handlers)': 0 }),
      breakerStates: () => ({ inventory: 'half-open' }),
    });

    const before = await telemetry.prometheusText();
    hits = 9;
    const after = await telemetry.prometheusText();

    expect(sample(before, 'bpmn_router_cache_hits_total', { bpmn_router_cache: 'processXml' })).toBe(3);
    expect(sample(before, 'bpmn_router_cache_hit_ratio', { bpmn_router_cache: 'processXml' })).toBe(0.75);
    expect(sample(before, 'bpmn_router_cache_hit_ratio', { bpmn_router_cache: 'docs' })).toBe(0);
    expect(sample(before, 'bpmn_router_queue_depth', { bpmn_router_service: 'inventory' })).toBe(4);
    expect(sample(before, 'bpmn_router_breaker_state', { bpmn_router_service: 'inventory' })).toBe(1);
    expect(sample(after, 'bpmn_router_cache_hits_total', { bpmn_router_cache: 'processXml' })).toBe(9);
    expect(sample(after, 'bpmn_router_cache_hit_ratio', { bpmn_router_cache: 'processXml' })).toBe(0.9);
  });

  test('observe twice is rejected', () => {
    const sources = { caches: () => ({}), queueDepths: () => ({}), breakerStates: () => ({}) };
    recorder.observe(sources);

    expect(() => recorder.observe(sources)).toThrow(TypeError);
  });

  test('lock extensions and events count on both sides', async () => {
    recorder.lockExtension(true);
    recorder.lockExtension(true);
    recorder.lockExtension(false);
    recorder.event('tasksUnlocked');

    const snapshot = recorder.snapshot();
    const text = await telemetry.prometheusText();

    expect(snapshot.lockExtensions).toBe(2);
    expect(snapshot.lockExtensionFailures).toBe(1);
    expect(snapshot.tasksUnlocked).toBe(1);
    expect(sample(text, 'bpmn_router_lock_extensions_total', { bpmn_router_lock_extension_result: 'extended' })).toBe(2);
    expect(sample(text, 'bpmn_router_lock_extensions_total', { bpmn_router_lock_extension_result: 'failed' })).toBe(1);
    expect(sample(text, 'bpmn_router_daemon_events_total', { bpmn_router_event: 'tasksUnlocked' })).toBe(1);
  });

  test('prediction figures stay empty until recorded', async () => {
    const empty = recorder.snapshot();
    const text = await telemetry.prometheusText();

    expect(empty.predictions).toBe(0);
    expect(empty.predictionAccuracyTop1).toBeNull();
    expect(empty.predictionAccuracyTop3).toBeNull();
    expect(empty.prefetchHitRate).toBeNull();
    expect(empty.unusedPrefetchShare).toBeNull();
    expect(sample(text, 'bpmn_router_predictions_total')).toBeUndefined();
  });

  test('prediction figures agree on both sides', async () => {
    recorder.prediction('top1');
    recorder.prediction('top1');
    recorder.prediction('top3');
    recorder.prediction('miss');
    recorder.prefetch(true);
    recorder.prefetch(true);
    recorder.prefetch(true);
    recorder.prefetch(false);
    recorder.taskArrival(true);
    recorder.taskArrival(false);

    const snapshot = recorder.snapshot();
    const text = await telemetry.prometheusText();

    expect(snapshot.predictions).toBe(4);
    expect(snapshot.predictionAccuracyTop1).toBe(0.5);
    expect(snapshot.predictionAccuracyTop3).toBe(0.75);
    expect(snapshot.prefetchesUsed).toBe(3);
    expect(snapshot.prefetchesUnused).toBe(1);
    expect(snapshot.unusedPrefetchShare).toBe(0.25);
    expect(snapshot.prefetchHitRate).toBe(0.5);
    expect(sample(text, 'bpmn_router_predictions_total', { bpmn_router_prediction_result: 'top1' })).toBe(2);
    expect(sample(text, 'bpmn_router_predictions_total', { bpmn_router_prediction_result: 'top3' })).toBe(1);
    expect(sample(text, 'bpmn_router_predictions_total', { bpmn_router_prediction_result: 'miss' })).toBe(1);
    expect(sample(text, 'bpmn_router_prefetches_total', { bpmn_router_prefetch_result: 'unused' })).toBe(1);
    expect(sample(text, 'bpmn_router_tasks_arrived_total', { bpmn_router_readiness: 'ready' })).toBe(1);
    expect(sample(text, 'bpmn_router_tasks_arrived_total', { bpmn_router_readiness: 'not_ready' })).toBe(1);
  });

  test('disabled telemetry still fills the snapshot', async () => {
    const disabled = Telemetry.disabled();
    const quiet = new TelemetryRecorder(disabled.meter);

    quiet.taskFinished('complete', instance('pi-1'), 'inventory');

    expect(quiet.snapshot().tasksProcessed).toBe(1);
    expect(await disabled.prometheusText()).toBe('');
  });
});

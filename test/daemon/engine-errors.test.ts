import type { ServerResponse } from 'node:http';

import { request } from 'undici';

import type { Daemon } from '../../src/daemon/daemon.ts';
import { countProcessInstances, deployBpmn, listIncidents, startProcessInstance, waitFor, type Incident } from '../../src/demo/engine-rest.ts';
import { engineGet, startDaemon } from '../support/daemon.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type RecordedRequest, type TestServer } from '../support/http-server.ts';

/** Builds a process with two external tasks on parallel branches that join before the end. */
function parallelProcess(key: string, topic: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_${key}" targetNamespace="http://example.com/test">
  <bpmn:process id="${key}" isExecutable="true" camunda:historyTimeToLive="P1D">
    <bpmn:startEvent id="Start" />
    <bpmn:parallelGateway id="Fork" />
    <bpmn:serviceTask id="Left" camunda:type="external" camunda:topic="${topic}" />
    <bpmn:serviceTask id="Right" camunda:type="external" camunda:topic="${topic}" />
    <bpmn:parallelGateway id="Join" />
    <bpmn:endEvent id="End" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Start" targetRef="Fork" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Fork" targetRef="Left" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Fork" targetRef="Right" />
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Left" targetRef="Join" />
    <bpmn:sequenceFlow id="Flow_5" sourceRef="Right" targetRef="Join" />
    <bpmn:sequenceFlow id="Flow_6" sourceRef="Join" targetRef="End" />
  </bpmn:process>
</bpmn:definitions>
`;
}

/** Builds a process whose one external task has an end listener that calls a missing bean, so every complete fails inside the engine. */
function brokenListenerProcess(key: string, topic: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_${key}" targetNamespace="http://example.com/test">
  <bpmn:process id="${key}" isExecutable="true" camunda:historyTimeToLive="P1D">
    <bpmn:startEvent id="Start" />
    <bpmn:serviceTask id="Work" camunda:type="external" camunda:topic="${topic}">
      <bpmn:extensionElements>
        <camunda:executionListener event="end" expression="\${missingBean.notify()}" />
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:endEvent id="End" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Start" targetRef="Work" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Work" targetRef="End" />
  </bpmn:process>
</bpmn:definitions>
`;
}

const PARALLEL_INSTANCES = 30;

describe('engine errors while reporting outcomes', () => {
  const url = engineUrl();
  const key = uniqueProcessKey('EngineErrors');
  const topic = (name: string) => `${key}-${name}`;
  let service: TestServer;
  let daemon: Daemon;
  /** Parallel-branch requests held until all have arrived, so their completes reach the engine together. */
  const held: ServerResponse[] = [];
  let releaseGone: () => void = () => {};
  const goneReleased = new Promise<void>((resolve) => {
    releaseGone = resolve;
  });

  beforeAll(async () => {
    service = await startTestServer(async (recorded: RecordedRequest, response) => {
      if (recorded.url === '/parallel') {
        held.push(response);
        if (held.length === 2 * PARALLEL_INSTANCES) {
          // Every branch writes the same variable, so the completes of one instance collide.
          for (const waiting of held) {
            sendJson(waiting, 200, { variables: { reviewedBy: 'service' } });
          }
        }
        return;
      }
      if (recorded.url === '/gone') {
        await goneReleased;
      }
      sendJson(response, 200, { variables: { done: true } });
    });

    await deployBpmn(url, [
      { name: `${key}-parallel.bpmn`, xml: parallelProcess(`${key}_parallel`, topic('parallel')) },
      { name: `${key}-broken.bpmn`, xml: brokenListenerProcess(`${key}_broken`, topic('broken')) },
      { name: `${key}-gone.bpmn`, xml: brokenListenerProcess(`${key}_gone`, topic('gone')).replace(/<bpmn:extensionElements>[\s\S]*?<\/bpmn:extensionElements>/, '') },
    ]);

    daemon = startDaemon(key, `
engine:
  baseUrl: ${url}
  maxTasks: 100
  asyncResponseTimeout: 1s
  failure: { retries: 0 }
services:
  backend: { baseUrl: '${service.url}', maxConcurrent: 100, timeout: 30s }
topics:
  - topic: ${topic('parallel')}
    service: backend
    path: /parallel
  - topic: ${topic('broken')}
    service: backend
    path: /broken
  - topic: ${topic('gone')}
    service: backend
    path: /gone
`);
  });

  afterAll(async () => {
    releaseGone();
    await daemon.stop(5_000);
    await service.close();
  });

  const metrics = () => daemon.orchestrator.getMetrics().orchestratorMetrics;

  test('parallel branches completing at once all finish', async () => {
    await Promise.all(Array.from({ length: PARALLEL_INSTANCES }, () => startProcessInstance(url, `${key}_parallel`)));

    await waitFor(async () => (await countProcessInstances(url, `${key}_parallel`)).finished === PARALLEL_INSTANCES, {
      timeoutMs: 60_000,
      description: `${PARALLEL_INSTANCES} finished instances`,
    });

    expect(await listIncidents(url, { processDefinitionKey: `${key}_parallel` })).toEqual([]);
    expect(metrics().outcomeReportsAbandoned).toBe(0);
    // How many completes collide depends on timing: 10 to 16 of the 60 in five runs on the project machine.
    expect(metrics().outcomeConflicts).toBeGreaterThan(0);
    expect(callCount('engine:complete:500')).toBe(metrics().outcomeConflicts);
  });

  const callCount = (call: string) => (metrics().apiCallsByResult as Record<string, number>)[call] ?? 0;

  test('HTTP 500 on complete becomes a reported failure', async () => {
    const serverErrorsBefore = callCount('engine:complete:500');
    const instance = await startProcessInstance(url, `${key}_broken`);

    const [incident] = await waitFor(async () => {
      const incidents = await listIncidents(url, { processInstanceId: instance.id });
      return incidents.length > 0 ? incidents : undefined;
    }, { timeoutMs: 30_000, description: 'an incident' });

    expect((incident as Incident).incidentMessage).toMatch(/^the complete outcome was not accepted: POST \S+\/complete returned HTTP 500: /);
    expect((incident as Incident).incidentMessage).toContain('missingBean');
    expect(callCount('engine:complete:500') - serverErrorsBefore).toBe(3);
  });

  test('gone task result dropped and counted', async () => {
    const droppedBefore = metrics().lateResultsDropped;
    const instance = await startProcessInstance(url, `${key}_gone`);
    await waitFor(() => service.requests.some((recorded) => recorded.url === '/gone'), { description: 'the service call' });

    const deleted = await request(`${url}/process-instance/${instance.id}`, { method: 'DELETE' });
    await deleted.body.dump();
    expect(deleted.statusCode).toBe(204);
    releaseGone();

    await waitFor(() => metrics().lateResultsDropped === droppedBefore + 1, { description: 'the late result to be dropped' });
    expect(callCount('engine:complete:404')).toBe(1);
    expect(metrics().outcomeReportsAbandoned).toBe(0);
    const history = await engineGet<{ state: string }>(url, `/history/process-instance/${instance.id}`);
    expect(history.state).toBe('EXTERNALLY_TERMINATED');
  });
});

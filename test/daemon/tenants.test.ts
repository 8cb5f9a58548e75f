import type { Daemon } from '../../src/daemon/daemon.ts';
import { deployBpmn, listExternalTasks, startProcessInstance, waitFor, type ProcessDefinition } from '../../src/demo/engine-rest.ts';
import { linearProcess } from '../support/bpmn.ts';
import { engineGet, startDaemon } from '../support/daemon.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type RecordedRequest, type TestServer } from '../support/http-server.ts';

interface ServiceCall {
  path: string;
  tenantId: string | null;
  businessKey: string | null;
  processDefinitionKey: string | null;
}

function callsOf(server: TestServer): ServiceCall[] {
  return server.requests.map((recorded: RecordedRequest) => {
    const { task } = JSON.parse(recorded.body) as { task: { tenantId: string | null; businessKey: string | null; processDefinitionKey: string | null } };
    return { path: recorded.url, tenantId: task.tenantId, businessKey: task.businessKey, processDefinitionKey: task.processDefinitionKey };
  });
}

async function waitForEnd(url: string, processInstanceId: string): Promise<void> {
  await waitFor(async () => (await engineGet<{ endTime: string | null }>(url, `/history/process-instance/${processInstanceId}`)).endTime !== null, {
    timeoutMs: 30_000,
    description: `instance ${processInstanceId} to end`,
  });
}

describe('two tenants with one process key', () => {
  const url = engineUrl();
  const key = uniqueProcessKey('Tenants');
  const tenantA = `${key}-a`;
  const tenantB = `${key}-b`;
  let serviceA: TestServer;
  let serviceB: TestServer;
  let daemon: Daemon;
  const definitions = new Map<string, ProcessDefinition>();

  beforeAll(async () => {
    serviceA = await startTestServer((_request, response) => sendJson(response, 200, { variables: { handledBy: 'a' } }));
    serviceB = await startTestServer((_request, response) => sendJson(response, 200, { variables: { handledBy: 'b' } }));

    // Each tenant deploys its own version of the process, with its own activity properties.
    const deploy = async (tenantId: string | undefined, path: string) => {
      const xml = linearProcess(key, [{ id: 'Charge', topic: key, properties: { path } }]);
      const [definition] = await deployBpmn(url, [{ name: `${key}.bpmn`, xml }], { tenantId });
      definitions.set(tenantId ?? '(none)', definition as ProcessDefinition);
    };
    await deploy(tenantA, '/charge-a');
    await deploy(tenantB, '/charge-b');
    await deploy(undefined, '/charge-shared');

    daemon = startDaemon(key, `
engine:
  baseUrl: ${url}
  asyncResponseTimeout: 2s
services:
  serviceA: { baseUrl: '${serviceA.url}' }
  serviceB: { baseUrl: '${serviceB.url}' }
topics:
  - topic: ${key}
    service: serviceA
    tenantIds: [${tenantA}]
  - topic: ${key}
    service: serviceB
    tenantIds: [${tenantB}]
  - topic: ${key}
    service: serviceA
    withoutTenantId: true
`);
  });

  afterAll(async () => {
    await daemon.stop(5_000);
    await serviceA.close();
    await serviceB.close();
  });

  test('each tenant reaches its own route', async () => {
    const started = await Promise.all([
      startProcessInstance(url, key, { tenantId: tenantA, businessKey: 'a-1' }),
      startProcessInstance(url, key, { tenantId: tenantB, businessKey: 'b-1' }),
      startProcessInstance(url, key, { tenantId: tenantA, businessKey: 'a-2' }),
      startProcessInstance(url, key, { businessKey: 'shared-1' }),
    ]);
    await Promise.all(started.map((instance) => waitForEnd(url, instance.id)));

    const byBusinessKey = (calls: ServiceCall[]) => calls.map((call) => call.businessKey).sort();
    expect(byBusinessKey(callsOf(serviceA))).toEqual(['a-1', 'a-2', 'shared-1']);
    expect(byBusinessKey(callsOf(serviceB))).toEqual(['b-1']);
    for (const call of callsOf(serviceA)) {
      expect(call).toEqual(call.tenantId === null
        ? { path: '/charge-shared', tenantId: null, businessKey: 'shared-1', processDefinitionKey: key }
        : { path: '/charge-a', tenantId: tenantA, businessKey: call.businessKey, processDefinitionKey: key });
    }
    expect(callsOf(serviceB)).toEqual([{ path: '/charge-b', tenantId: tenantB, businessKey: 'b-1', processDefinitionKey: key }]);
  });

  test('shared lane gets second fetch loop', () => {
    expect(Object.keys(daemon.fetchStates()).sort()).toEqual(['serviceA', 'serviceA#2', 'serviceB']);
  });

  test('caches keep each tenant apart', async () => {
    const orchestrator = daemon.orchestrator;

    const latestA = await orchestrator.latestDefinition(key, tenantA);
    const latestB = await orchestrator.latestDefinition(key, tenantB);
    const latestShared = await orchestrator.latestDefinition(key);

    expect(latestA.activities.get('Charge')?.properties.path).toBe('/charge-a');
    expect(latestB.activities.get('Charge')?.properties.path).toBe('/charge-b');
    expect(latestShared.activities.get('Charge')?.properties.path).toBe('/charge-shared');
    const { processXml, properties } = orchestrator.getMetrics().cacheMetrics;
    expect(processXml.size).toBe(3);
    expect(properties.size).toBe(3);
    for (const definition of definitions.values()) {
      expect(orchestrator.clearCacheItem('properties', `${definition.id}:Charge`)).toBe(true);
    }
  });
});

describe('fetch filters', () => {
  const url = engineUrl();
  const key = uniqueProcessKey('Filters');
  let service: TestServer;
  let daemon: Daemon;

  beforeAll(async () => {
    service = await startTestServer((_request, response) => sendJson(response, 200, {}));
    const process = (processKey: string, topic: string, versionTag?: string) => {
      const xml = linearProcess(processKey, [{ id: 'Work', topic }]);
      return { name: `${processKey}.bpmn`, xml: versionTag === undefined ? xml : xml.replace('isExecutable="true"', `isExecutable="true" camunda:versionTag="${versionTag}"`) };
    };
    await deployBpmn(url, [process(`${key}_vip`, `${key}-vip`), process(`${key}_x`, `${key}-keys`), process(`${key}_y`, `${key}-keys`)]);
    await deployBpmn(url, [process(`${key}_tag`, `${key}-tag`, '1.0')]);
    await deployBpmn(url, [process(`${key}_tag`, `${key}-tag`, '2.0')]);

    daemon = startDaemon(key, `
engine:
  baseUrl: ${url}
  asyncResponseTimeout: 1s
services:
  backend: { baseUrl: '${service.url}' }
topics:
  - topic: ${key}-vip
    service: backend
    path: /vip
    businessKey: vip
  - topic: ${key}-keys
    service: backend
    path: /keys
    processDefinitionKeys: [${key}_x]
  - topic: ${key}-tag
    service: backend
    path: /tag
    processDefinitionVersionTag: '1.0'
`);
  });

  afterAll(async () => {
    await daemon.stop(5_000);
    await service.close();
  });

  test('only matching tasks are fetched', async () => {
    const matching = await Promise.all([
      startProcessInstance(url, `${key}_vip`, { businessKey: 'vip' }),
      startProcessInstance(url, `${key}_x`, { businessKey: 'x' }),
    ]);
    const others = await Promise.all([
      startProcessInstance(url, `${key}_vip`, { businessKey: 'regular' }),
      startProcessInstance(url, `${key}_y`, { businessKey: 'y' }),
      startProcessInstance(url, `${key}_tag`, { businessKey: 'tag-2' }),
    ]);
    await Promise.all(matching.map((instance) => waitForEnd(url, instance.id)));
    // The tag filter: version 1.0 is not the latest, so it is started by definition id.
    const [tagged] = await engineGet<ProcessDefinition[]>(url, `/process-definition?key=${key}_tag&versionTag=1.0`);
    const taggedInstance = await (await fetch(`${url}/process-definition/${tagged?.id}/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ businessKey: 'tag-1' }),
    })).json() as { id: string };
    await waitForEnd(url, taggedInstance.id);
    // Two more long polls: the other tasks had every chance to be fetched.
    await new Promise((resolve) => setTimeout(resolve, 2_500));

    expect(callsOf(service).map((call) => `${call.path} ${call.businessKey}`).sort()).toEqual(['/keys x', '/tag tag-1', '/vip vip']);
    for (const instance of others) {
      const [task] = await listExternalTasks(url, { processInstanceId: instance.id });
      expect(task?.workerId).toBeNull();
    }
  });
});

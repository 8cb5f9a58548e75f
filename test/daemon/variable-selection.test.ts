import type { Daemon } from '../../src/daemon/daemon.ts';
import { deployBpmn, listIncidents, startProcessInstance, waitFor, type Incident } from '../../src/demo/engine-rest.ts';
import { linearProcess } from '../support/bpmn.ts';
import { engineGet, startDaemon } from '../support/daemon.ts';
import { startCountingProxy, type CountingProxy } from '../support/counting-proxy.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

const FIVE_MIB = 5 * 1024 * 1024;

function sentVariables(server: TestServer, path: string): Record<string, unknown>[] {
  return server.requests
    .filter((recorded) => recorded.url === path)
    .map((recorded) => (JSON.parse(recorded.body) as { variables: Record<string, unknown> }).variables);
}

async function waitForEnd(url: string, processInstanceId: string): Promise<void> {
  await waitFor(async () => (await engineGet<{ endTime: string | null }>(url, `/history/process-instance/${processInstanceId}`)).endTime !== null, {
    timeoutMs: 30_000,
    description: `instance ${processInstanceId} to end`,
  });
}

describe('variable selection on a real engine', () => {
  const url = engineUrl();
  const key = uniqueProcessKey('Selection');
  let proxy: CountingProxy;
  let service: TestServer;
  let daemon: Daemon;

  beforeAll(async () => {
    proxy = await startCountingProxy(url);
    service = await startTestServer((_request, response) => sendJson(response, 200, { variables: { checked: true } }));
    await deployBpmn(url, [
      { name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Check', topic: `${key}-selected` }]) },
      { name: `${key}-local.bpmn`, xml: linearProcess(`${key}_local`, [{ id: 'Label', topic: `${key}-local`, inputs: { label: 'parcel ${orderId}' } }]) },
      {
        name: `${key}-wide.bpmn`,
        xml: linearProcess(`${key}_wide`, [{ id: 'Wide', topic: `${key}-selected`, properties: { path: '/wide', variables: 'orderId,blob' } }]),
      },
    ]);
    daemon = startDaemon(key, `
engine:
  baseUrl: ${proxy.url}
  asyncResponseTimeout: 1s
  failure: { retries: 0 }
services:
  backend: { baseUrl: '${service.url}' }
topics:
  - topic: ${key}-selected
    service: backend
    path: /selected
    variables: [orderId, amount]
  - topic: ${key}-local
    service: backend
    path: /local
    localVariables: true
`);
  });

  afterAll(async () => {
    await daemon.stop(5_000);
    await service.close();
    await proxy.close();
  });

  test('unneeded 5 MB variable stays in engine', async () => {
    const fetchedBefore = proxy.fetchResponseBytes;
    const instance = await startProcessInstance(url, key, {
      variables: { orderId: 'o-1', amount: 12.5, blob: new Uint8Array(FIVE_MIB).fill(7) },
    });
    await waitForEnd(url, instance.id);

    expect(sentVariables(service, '/selected')).toEqual([{ orderId: 'o-1', amount: 12.5 }]);
    // The fetches carried the task and two small variables, not the 5 MiB (about 7 MB in base64).
    expect(proxy.fetchResponseBytes - fetchedBefore).toBeGreaterThan(0);
    expect(proxy.fetchResponseBytes - fetchedBefore).toBeLessThan(16 * 1024);
  });

  test('local variables when topic asks', async () => {
    const instance = await startProcessInstance(url, `${key}_local`, { variables: { orderId: 'o-2', amount: 3 } });
    await waitForEnd(url, instance.id);

    expect(sentVariables(service, '/local')).toEqual([{ label: 'parcel o-2' }]);
  });

  test('unfetched activity variable raises incident', async () => {
    const instance = await startProcessInstance(url, `${key}_wide`, { variables: { orderId: 'o-3', blob: 'small' } });

    const [incident] = await waitFor(async () => {
      const incidents = await listIncidents(url, { processInstanceId: instance.id });
      return incidents.length > 0 ? incidents : undefined;
    }, { timeoutMs: 30_000, description: 'an incident' });
    expect((incident as Incident).incidentMessage).toContain(`activity "Wide" (topic "${key}-selected") needs variables blob that topic "${key}-selected" does not fetch`);
    expect(sentVariables(service, '/wide')).toEqual([]);
  });
});

describe('extension properties from the fetch', () => {
  const url = engineUrl();
  const key = uniqueProcessKey('FetchedProperties');
  let proxy: CountingProxy;
  let service: TestServer;
  let daemon: Daemon;

  beforeAll(async () => {
    proxy = await startCountingProxy(url);
    service = await startTestServer((_request, response) => sendJson(response, 200, {}));
    await deployBpmn(url, [{
      name: `${key}.bpmn`,
      xml: linearProcess(key, [{ id: 'First', topic: key, properties: { path: '/first' } }, { id: 'Second', topic: key }]),
    }]);
    daemon = startDaemon(key, `
engine:
  baseUrl: ${proxy.url}
  asyncResponseTimeout: 1s
  includeExtensionProperties: true
# Prediction reads each definition after routing, to learn its graph; without it nothing needs the XML.
prediction: { enabled: false }
services:
  backend: { baseUrl: '${service.url}' }
topics:
  - topic: ${key}
    service: backend
    path: /default
`);
  });

  afterAll(async () => {
    await daemon.stop(5_000);
    await service.close();
    await proxy.close();
  });

  test('routes without reading the definition', async () => {
    const instance = await startProcessInstance(url, key);
    await waitForEnd(url, instance.id);

    expect(service.requests.map((recorded) => recorded.url)).toEqual(['/first', '/default']);
    expect(proxy.xmlFetches).toBe(0);
    expect(daemon.orchestrator.getMetrics().cacheMetrics.processXml.size).toBe(0);
  });
});

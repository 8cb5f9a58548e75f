import type { Daemon } from '../../src/daemon/daemon.ts';
import { countProcessInstances, deployBpmn, listIncidents, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import { linearProcess } from '../support/bpmn.ts';
import { engineGet, startDaemon } from '../support/daemon.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

const FOUR_MIB = 4 * 1024 * 1024;

describe('multi-megabyte process variables', () => {
  const url = engineUrl();
  const key = uniqueProcessKey('LargeVariables');
  let service: TestServer;
  let daemon: Daemon | undefined;

  beforeAll(async () => {
    service = await startTestServer((request, response) => {
      const body = JSON.parse(request.body) as { variables: { document: { text: string } } };
      sendJson(response, 200, { variables: { receivedLength: body.variables.document.text.length, reply: { text: 'r'.repeat(2 * 1024 * 1024) } } });
    });
  });

  afterAll(async () => {
    await daemon?.stop(5_000);
    await service.close();
  });

  test('4 MiB variable goes out and a 2 MiB one comes back', async () => {
    await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Digest', topic: `${key}-digest` }]) }]);
    daemon = startDaemon(key, `
engine: { baseUrl: ${url}, asyncResponseTimeout: 1s }
services:
  digest: { baseUrl: '${service.url}' }
topics:
  - { topic: ${key}-digest, service: digest }
`);
    const instance = await startProcessInstance(url, key, { variables: { document: { text: 'd'.repeat(FOUR_MIB) } } });
    await waitFor(async () => (await countProcessInstances(url, key)).finished === 1, { timeoutMs: 60_000, description: 'the instance to end' });

    const variables = await engineGet<{ name: string; value: unknown }[]>(url, `/history/variable-instance?processInstanceId=${instance.id}&deserializeValues=false`);
    const received = variables.find((variable) => variable.name === 'receivedLength');
    const reply = variables.find((variable) => variable.name === 'reply');

    expect(service.requests).toHaveLength(1);
    expect(received?.value).toBe(FOUR_MIB);
    expect(String(reply?.value)).toHaveLength(2 * 1024 * 1024 + '{"text":""}'.length);
    expect(await listIncidents(url, { processDefinitionKey: key })).toHaveLength(0);
  });
});

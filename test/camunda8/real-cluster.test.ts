/**
 * The daemon against a real Camunda 8 cluster, when CAMUNDA8_REST_ADDRESS
 * names one (e.g. http://127.0.0.1:8080 for a local Camunda 8 Run). No such
 * cluster can run here, since its broker is not under an open-source
 * licence, so without the variable this suite is skipped.
 *
 * Optional: CAMUNDA8_GRPC_ADDRESS (grpc://host:port) turns on job streaming;
 * CAMUNDA8_USERNAME and CAMUNDA8_PASSWORD set basic auth;
 * CAMUNDA8_CLIENT_ID, CAMUNDA8_CLIENT_SECRET and CAMUNDA8_OAUTH_URL set
 * OAuth client credentials.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';

import { CamundaRestClient } from '@camunda8/sdk';

import type { Daemon } from '../../src/daemon/daemon.ts';
import { sdkConfiguration } from '../../src/engine/camunda8/sdk.ts';
import { parseConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { zeebeProcess, waitUntil } from '../support/camunda8-bpmn.ts';
import { startDaemon } from '../support/daemon.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

const restAddress = process.env.CAMUNDA8_REST_ADDRESS;

if (restAddress === undefined || restAddress === '') {
  console.info('Skipping the real Camunda 8 cluster suite: set CAMUNDA8_REST_ADDRESS (e.g. http://127.0.0.1:8080) to run it.');
}

function authSection(): string {
  const env = process.env;
  if (env.CAMUNDA8_CLIENT_ID !== undefined) {
    return `  auth: { type: oauth, clientId: '${env.CAMUNDA8_CLIENT_ID}', clientSecret: '${env.CAMUNDA8_CLIENT_SECRET ?? ''}', tokenUrl: '${env.CAMUNDA8_OAUTH_URL ?? ''}' }`;
  }
  if (env.CAMUNDA8_USERNAME !== undefined) {
    return `  auth: { type: basic, username: '${env.CAMUNDA8_USERNAME}', password: '${env.CAMUNDA8_PASSWORD ?? ''}' }`;
  }
  return '';
}

(restAddress === undefined || restAddress === '' ? describe.skip : describe)('real Camunda 8 cluster', () => {
  let service: TestServer | undefined;
  let daemon: Daemon | undefined;

  afterAll(async () => {
    await daemon?.stop(0);
    await service?.close();
  });

  test('completes a job of a deployed process', async () => {
    const suffix = randomBytes(4).toString('hex');
    const processId = `router_test_${suffix}`;
    const jobType = `router-test-${suffix}`;
    service = await startTestServer((request, response) => sendJson(response, 200, { variables: { routed: JSON.parse(request.body).variables.orderId } }));
    const grpc = process.env.CAMUNDA8_GRPC_ADDRESS;
    const configText = `
engine:
  type: camunda8
  baseUrl: ${restAddress}
${authSection()}
${grpc === undefined ? '' : `  streaming: { grpcAddress: '${grpc}' }`}
services:
  orders:
    baseUrl: ${service.url}
topics:
  - topic: ${jobType}
    service: orders
    path: /route
`;
    const engine = parseConfig(configText).engine;
    const rest = new CamundaRestClient({ config: sdkConfiguration(engine, silentLogger()) });

    const xml = zeebeProcess(processId, [{ id: 'Route', type: jobType, inputs: { orderId: '=orderId' } }]);
    const deployment = await rest.deployResources([{ name: `${processId}.bpmn`, content: xml }]);
    expect(deployment.processes[0]?.processDefinitionId).toBe(processId);

    daemon = startDaemon('camunda8-real-cluster', configText);
    const instance = await rest.createProcessInstance({ processDefinitionId: processId, variables: { orderId: 'o-1' } });

    await waitUntil('the service received the job', () => service !== undefined && service.requests.length > 0, 60_000);
    let state = '';
    const deadline = Date.now() + 60_000;
    while (state !== 'COMPLETED' && Date.now() < deadline) {
      const found = await rest.searchProcessInstances({ filter: { processInstanceKey: instance.processInstanceKey } });
      state = found.items[0]?.state ?? '';
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(state).toBe('COMPLETED');
  });
});

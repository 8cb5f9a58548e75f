import { parseConfig } from '../../src/config/load.ts';
import type { Task } from '../../src/engine/types.ts';
import { ServiceOrchestrator } from '../../src/orchestrator.ts';
import { linearProcess } from '../support/bpmn.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

interface BatchBody {
  items: { id: string; idempotencyKey: string; method: string; path: string; variables: Record<string, unknown>; task: { id: string; activityId: string } }[];
}

const DEFINITION_ID = 'Library:1:abc';

function task(id: string, activityId: string, topic: string): Task {
  return {
    id, topic, activityId, activityInstanceId: undefined, processInstanceId: `pi-${id}`, processDefinitionId: DEFINITION_ID,
    processDefinitionKey: 'Library', businessKey: undefined, tenantId: undefined, retries: id === 'r2' ? 2 : null, priority: 0,
    workerId: 'w', lockExpiresAt: undefined,
  };
}

describe('routeBatchTasks', () => {
  let batchService: TestServer;
  let singleService: TestServer;
  let orchestrator: ServiceOrchestrator;

  beforeAll(async () => {
    batchService = await startTestServer((request, response) => {
      const { items } = JSON.parse(request.body) as BatchBody;
      // Results in reverse order: the daemon matches them by id.
      const results = items.reverse().map((item) => {
        if (item.variables.amount === 0) {
          return { id: item.id, status: 422, body: { message: 'nothing to charge' } };
        }
        if (item.variables.amount === -1) {
          return { id: item.id, status: 500, body: { message: 'ledger locked' } };
        }
        return { id: item.id, status: 200, body: { variables: { charged: item.variables.amount, key: item.idempotencyKey } } };
      });
      sendJson(response, 200, { results });
    });
    singleService = await startTestServer((request, response) => {
      sendJson(response, 200, { variables: { notified: JSON.parse(request.body).task.id } });
    });

    const xml = linearProcess('Library', [
      { id: 'Charge', topic: 'charge' },
      { id: 'Notify', topic: 'notify' },
      { id: 'Refund', topic: 'charge', properties: { path: '/refund' } },
    ]);
    const config = parseConfig(`
engine: { baseUrl: http://127.0.0.1:1/engine-rest }
services:
  payments:
    baseUrl: '${batchService.url}'
    batch: { path: /batch, maxSize: 3, maxWait: 1s }
  notifications: { baseUrl: '${singleService.url}' }
topics:
  - { topic: charge, service: payments, path: /charge, variables: [amount], errors: { 422: NOTHING_TO_CHARGE } }
  - { topic: notify, service: notifications, path: /notify }
`, { env: {} });
    orchestrator = new ServiceOrchestrator({ config, definitionSource: { definitionXml: async () => xml } });
  });

  afterAll(async () => {
    await orchestrator.close();
    await batchService.close();
    await singleService.close();
  });

  test('one outcome per task in input order', async () => {
    const tasks = [
      task('c1', 'Charge', 'charge'),
      task('n1', 'Notify', 'notify'),
      task('c2', 'Charge', 'charge'),
      task('r2', 'Refund', 'charge'),
      task('c3', 'Charge', 'charge'),
    ];
    const variables = [{ amount: 10, secret: 's' }, {}, { amount: 0 }, { amount: 7 }, { amount: -1 }];

    const outcomes = await orchestrator.routeBatchTasks(tasks, variables);

    expect(outcomes.map((outcome) => outcome.kind)).toEqual(['complete', 'complete', 'bpmnError', 'complete', 'failure']);
    expect(outcomes[0]).toMatchObject({ kind: 'complete', variables: { charged: 10, key: 'c1:initial' } });
    expect(outcomes[1]).toMatchObject({ kind: 'complete', variables: { notified: 'n1' } });
    expect(outcomes[2]).toMatchObject({ kind: 'bpmnError', errorCode: 'NOTHING_TO_CHARGE', message: 'nothing to charge' });
    expect(outcomes[3]).toMatchObject({ kind: 'complete', variables: { charged: 7, key: 'r2:2' } });
    expect(outcomes[4]).toMatchObject({ kind: 'failure', message: 'POST payments/charge returned HTTP 500: ledger locked' });
  });

  test('tasks of a batch service share requests up to maxSize', async () => {
    const before = batchService.requests.length;
    const tasks = Array.from({ length: 5 }, (_, index) => task(`b${index}`, 'Charge', 'charge'));

    await orchestrator.routeBatchTasks(tasks, tasks.map((_, index) => ({ amount: index + 1 })));

    const bodies = batchService.requests.slice(before).map((request) => JSON.parse(request.body) as BatchBody);
    expect(bodies.map((body) => body.items.length)).toEqual([3, 2]);
    expect(bodies[0]!.items[0]).toEqual({
      id: 'b0',
      idempotencyKey: 'b0:initial',
      method: 'POST',
      path: '/charge',
      variables: { amount: 1 },
      task: expect.objectContaining({ id: 'b0', activityId: 'Charge', topic: 'charge' }),
    });
  });

  test('routing failure comes back in its place', async () => {
    const outcomes = await orchestrator.routeBatchTasks([task('u1', 'Charge', 'unknown-topic'), task('c9', 'Charge', 'charge')], [{}, { amount: 1 }]);

    expect(outcomes[0]).toMatchObject({ kind: 'failure', retryable: false });
    expect(outcomes[1]).toMatchObject({ kind: 'complete' });
  });

  test('more variable sets than tasks is rejected', async () => {
    await expect(orchestrator.routeBatchTasks([task('x', 'Charge', 'charge')], [{}, {}])).rejects.toThrow(TypeError);
  });
});

import { resolve } from 'node:path';

import { parseConfig } from '../../src/config/load.ts';
import { Dispatcher } from '../../src/dispatch/dispatcher.ts';
import type { Task } from '../../src/engine/types.ts';
import { resolveRoute } from '../../src/routing/route.ts';

function task(topic: string): Task {
  return {
    id: `task-${topic}`, topic, activityId: topic, activityInstanceId: undefined, processInstanceId: 'pi', processDefinitionId: 'd:1:x',
    processDefinitionKey: 'd', businessKey: undefined, tenantId: undefined, retries: null, priority: 0, workerId: 'w', lockExpiresAt: undefined,
  };
}

describe('example handlers in workers/', () => {
  const config = parseConfig(`
engine: { baseUrl: http://127.0.0.1:1/engine-rest }
topics:
  - { topic: audit-log, handler: workers/audit-log.ts }
  - { topic: fraud-check, handler: workers/fraud-check.ts, variables: [orderId, orderTotalCents, country] }
`, { env: {}, baseDir: resolve('.') });
  const dispatcher = new Dispatcher(config);

  afterAll(async () => {
    await dispatcher.close();
  });

  function run(topic: string, variables: Record<string, unknown>) {
    const topicOptions = config.topics.find((candidate) => candidate.topic === topic);
    return dispatcher.dispatch(task(topic), variables, resolveRoute(config, topicOptions!, undefined));
  }

  test('audit-log completes with a timestamp', async () => {
    const outcome = await run('audit-log', {});

    expect(outcome).toEqual({ kind: 'complete', variables: { auditedAt: expect.any(String) } });
  });

  test('fraud-check scores an ordinary order', async () => {
    const outcome = await run('fraud-check', { orderId: 'o-1', orderTotalCents: 500_000, country: 'DE' });

    expect(outcome).toEqual({ kind: 'complete', variables: { fraudScore: 30, fraudCheckedAt: expect.any(String) } });
  });

  test('fraud-check raises a BPMN error for a large order', async () => {
    const outcome = await run('fraud-check', { orderId: 'o-2', orderTotalCents: 2_000_000 });

    expect(outcome).toMatchObject({ kind: 'bpmnError', errorCode: 'FRAUD_SUSPECTED', variables: { fraudScore: 100 } });
  });

  test('fraud-check fails without a total', async () => {
    const outcome = await run('fraud-check', { orderId: 'o-3' });

    expect(outcome).toMatchObject({ kind: 'failure', transient: false, message: 'orderTotalCents of order o-3 is missing; expected a non-negative integer' });
  });
});

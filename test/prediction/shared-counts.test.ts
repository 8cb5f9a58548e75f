/**
 * Counts shared through the real Redis: what one orchestrator learned from
 * its tasks decides the predictions of another, which saw none of them.
 */
import { Redis } from 'ioredis';

import { parseConfig } from '../../src/config/load.ts';
import { deployBpmn, waitFor } from '../../src/demo/engine-rest.ts';
import type { Task } from '../../src/engine/types.ts';
import { ServiceOrchestrator } from '../../src/orchestrator.ts';
import { branchingProcess } from '../support/bpmn.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';
import { deleteKeys, SHARED_REDIS_URL, uniqueKeyPrefix } from '../support/redis.ts';

const url = engineUrl();

describe('prediction counts shared in Redis', () => {
  const key = uniqueProcessKey('Shared');
  const prefix = uniqueKeyPrefix();
  let service: TestServer;
  let definitionId: string;
  const orchestrators: ServiceOrchestrator[] = [];

  const task = (activityId: string, instance: string): Task => ({
    id: `${instance}-${activityId}`,
    topic: `${key}-${activityId.toLowerCase()}`,
    activityId,
    activityInstanceId: undefined,
    processInstanceId: instance,
    processDefinitionId: definitionId,
    processDefinitionKey: key,
    businessKey: undefined,
    tenantId: undefined,
    retries: null,
    priority: 0,
    workerId: 'shared-counts-test',
    lockExpiresAt: undefined,
  });

  const orchestrator = (shared: boolean): ServiceOrchestrator => {
    const created = new ServiceOrchestrator({
      config: parseConfig(`
engine: { baseUrl: ${url} }
services:
  backend: { baseUrl: '${service.url}' }
topics:
  - { topic: ${key}-a, service: backend }
  - { topic: ${key}-b, service: backend }
  - { topic: ${key}-c, service: backend }
cache:
  redis: { url: '${SHARED_REDIS_URL}', keyPrefix: '${prefix}' }
${shared ? 'prediction: { shared: { syncInterval: 100ms } }' : ''}
`, { env: {} }),
    });
    orchestrators.push(created);
    return created;
  };

  /** Routes A then C of one instance, waiting until the prediction after A has been scored. */
  const routeInstance = async (router: ServiceOrchestrator, instance: string): Promise<void> => {
    await router.routeTask(task('A', instance));
    await waitFor(() => router.getMetrics().predictionMetrics.trackedInstances > 0, { description: 'the first task to be learned' });
    const scored = router.getMetrics().orchestratorMetrics.predictions;
    await router.routeTask(task('C', instance));
    await waitFor(() => router.getMetrics().orchestratorMetrics.predictions > scored, { description: `the prediction of ${instance} to be scored` });
  };

  beforeAll(async () => {
    service = await startTestServer((_request, response) => sendJson(response, 200, { variables: {} }));
    const [definition] = await deployBpmn(url, [{ name: `${key}.bpmn`, xml: branchingProcess(key) }]);
    definitionId = definition?.id as string;
  });

  afterAll(async () => {
    await Promise.all(orchestrators.map((created) => created.close()));
    await service?.close();
    await deleteKeys(SHARED_REDIS_URL, prefix);
  });

  test('replica predicts from another replica counts', async () => {
    const learner = orchestrator(true);
    for (let instance = 0; instance < 5; instance += 1) {
      await routeInstance(learner, `learner-${instance}`);
    }
    const client = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: 1 });
    const hash = await waitFor(async () => {
      const stored = await client.hgetall(`${prefix}transitions:v1:${definitionId}`);
      return stored['A>C'] === '5' ? stored : undefined;
    }, { description: 'the learner to send its counts' });
    client.disconnect();

    const follower = orchestrator(true);
    await follower.prefetchCommonActivities(definitionId, key);
    const syncs = follower.getMetrics().predictionMetrics.sharedSyncs;
    await waitFor(() => follower.getMetrics().predictionMetrics.sharedSyncs > syncs + 1, { description: 'the follower to take over the shared counts' });
    await routeInstance(follower, 'follower-0');

    const loner = orchestrator(false);
    await routeInstance(loner, 'loner-0');

    expect(hash).toEqual({ '>A': '5', 'A>C': '5' });
    expect(follower.getMetrics().orchestratorMetrics.predictionAccuracyTop1).toBe(1);
    // Without the shared counts the prior ties B and C, and B comes first in the file.
    expect(loner.getMetrics().orchestratorMetrics.predictionAccuracyTop1).toBe(0);
  });
});

/**
 * The Camunda 8 adapter against the REST protocol fake: what it sends for
 * each engine call, how jobs become tasks, and how keys and variables keep
 * their exact values.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';

import { parseConfig } from '../../src/config/load.ts';
import type { EngineOptions } from '../../src/config/types.ts';
import { Camunda8Adapter } from '../../src/engine/camunda8/adapter.ts';
import { Camunda8Definitions } from '../../src/engine/camunda8/definitions.ts';
import { EngineRequestError } from '../../src/errors.ts';
import { startCamunda8ProtocolFake, type Camunda8ProtocolFake, type FakeAuth } from '../support/camunda8-protocol-fake.ts';

const XML = '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"><process id="p" isExecutable="true" /></definitions>';

function engineOptions(fake: Camunda8ProtocolFake, auth = ''): EngineOptions {
  return parseConfig(`
engine:
  type: camunda8
  baseUrl: ${fake.url}
  workerId: adapter-test
  asyncResponseTimeout: 0
  requestTimeout: 5s
${auth}
topics:
  - topic: charge
`).engine;
}

let fake: Camunda8ProtocolFake;
let adapters: { close(): Promise<void> }[] = [];

async function start(auth?: FakeAuth): Promise<void> {
  fake = await startCamunda8ProtocolFake({ auth });
}

afterEach(async () => {
  await Promise.all(adapters.map((adapter) => adapter.close()));
  adapters = [];
  expect(fake.violations).toEqual([]);
  await fake.close();
});

function adapterFor(engine: EngineOptions): Camunda8Adapter {
  const adapter = new Camunda8Adapter(engine);
  adapters.push(adapter);
  return adapter;
}

describe('job activation', () => {
  beforeEach(() => start());

  test('maps a job to a task with string keys', async () => {
    const definition = fake.broker.deploy('order', XML);
    const job = fake.broker.createJob(definition, { elementId: 'Charge', type: 'charge', retries: 5 });
    const adapter = adapterFor(engineOptions(fake));

    const [fetched] = await adapter.fetchAndLock({ topics: [{ topic: 'charge', lockDurationMs: 20_000 }], maxTasks: 3, longPollMs: 0 });

    expect(fetched?.task).toMatchObject({
      id: job.key,
      topic: 'charge',
      activityId: 'Charge',
      activityInstanceId: job.elementInstanceKey,
      processInstanceId: job.processInstanceKey,
      processDefinitionId: definition.processDefinitionKey,
      processDefinitionKey: 'order',
      tenantId: '<default>',
      retries: 5,
      workerId: 'adapter-test',
    });
    expect(BigInt(fetched?.task.id ?? '0')).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER));
    expect(fetched?.task.lockExpiresAt).toBe(job.deadline);
    expect(fake.requests.at(-1)?.body).toEqual({ type: 'charge', worker: 'adapter-test', timeout: 20_000, maxJobsToActivate: 3, requestTimeout: -1 });
  });

  test('keeps integers beyond 2^53 in variables', async () => {
    const definition = fake.broker.deploy('order', XML);
    fake.broker.createJob(definition, { elementId: 'Charge', type: 'charge', variables: { orderId: 12_345_678_901_234_567_890n, amount: 12.5, tags: ['a'] } });
    const adapter = adapterFor(engineOptions(fake));

    const [fetched] = await adapter.fetchAndLock({ topics: [{ topic: 'charge', lockDurationMs: 20_000 }], maxTasks: 1, longPollMs: 0 });
    expect(fetched?.variables).toEqual({ orderId: 12_345_678_901_234_567_890n, amount: 12.5, tags: ['a'] });

    await adapter.complete(fetched!.task, { echoed: fetched!.variables.orderId });
    expect(fake.broker.job(fetched!.task.id)?.completedWith).toEqual({ echoed: 12_345_678_901_234_567_890n });
  });

  test('shares maxTasks between job types', async () => {
    const definition = fake.broker.deploy('order', XML);
    for (let index = 0; index < 4; index += 1) {
      fake.broker.createJob(definition, { elementId: 'Charge', type: 'charge' });
      fake.broker.createJob(definition, { elementId: 'Ship', type: 'ship' });
    }
    const adapter = adapterFor(engineOptions(fake));

    const fetched = await adapter.fetchAndLock({
      topics: [{ topic: 'charge', lockDurationMs: 20_000 }, { topic: 'ship', lockDurationMs: 20_000 }],
      maxTasks: 3,
      longPollMs: 0,
    });

    expect(fetched).toHaveLength(3);
    expect(new Set(fetched.map((item) => item.task.topic))).toEqual(new Set(['charge', 'ship']));
  });

  test('long poll returns a job created while waiting', async () => {
    const definition = fake.broker.deploy('order', XML);
    const adapter = adapterFor(engineOptions(fake));
    setTimeout(() => fake.broker.createJob(definition, { elementId: 'Charge', type: 'charge' }), 300);

    const fetched = await adapter.fetchAndLock({ topics: [{ topic: 'charge', lockDurationMs: 20_000 }], maxTasks: 1, longPollMs: 5_000 });

    expect(fetched).toHaveLength(1);
    expect((fake.requests.at(-1)?.body as { requestTimeout: number }).requestTimeout).toBe(5_000);
  });
});

describe('job commands', () => {
  beforeEach(() => start());

  async function activatedTask(adapter: Camunda8Adapter, retries = 3) {
    const definition = fake.broker.deploy('order', XML);
    fake.broker.createJob(definition, { elementId: 'Charge', type: 'charge', retries });
    const [fetched] = await adapter.fetchAndLock({ topics: [{ topic: 'charge', lockDurationMs: 20_000 }], maxTasks: 1, longPollMs: 0 });
    return fetched!.task;
  }

  test('BPMN error carries code, message and variables', async () => {
    const adapter = adapterFor(engineOptions(fake));
    const task = await activatedTask(adapter);

    await adapter.bpmnError(task, 'DECLINED', 'card declined', { reason: 'limit' });

    expect(fake.broker.job(task.id)?.thrownError).toEqual({ errorCode: 'DECLINED', errorMessage: 'card declined', variables: { reason: 'limit' } });
  });

  test('failure reports retries and back-off', async () => {
    const adapter = adapterFor(engineOptions(fake));
    const task = await activatedTask(adapter);

    await adapter.fail(task, { message: 'service down', details: 'stack', retries: 2, retryTimeoutMs: 1_500 });

    expect(fake.broker.job(task.id)?.failures).toEqual([{ retries: 2, errorMessage: 'service down', retryBackOff: 1_500 }]);
    expect(fake.broker.job(task.id)?.state).toBe('activatable');
  });

  test('failure at zero retries raises an incident', async () => {
    const adapter = adapterFor(engineOptions(fake));
    const task = await activatedTask(adapter, 1);

    await adapter.fail(task, { message: 'gave up', details: undefined, retries: 0, retryTimeoutMs: 0 });

    expect(fake.broker.job(task.id)?.state).toBe('incident');
    expect(fake.broker.job(task.id)?.incidentMessage).toBe('gave up');
  });

  test('lock extension updates the timeout', async () => {
    const adapter = adapterFor(engineOptions(fake));
    const task = await activatedTask(adapter);
    const before = fake.broker.job(task.id)!.deadline;

    await new Promise((resolve) => setTimeout(resolve, 20));
    await adapter.extendLock(task, 60_000);

    expect(fake.broker.job(task.id)?.timeoutUpdates).toEqual([60_000]);
    expect(fake.broker.job(task.id)!.deadline).toBeGreaterThan(before);
  });

  test('unlock keeps the retries and makes the job activatable', async () => {
    const adapter = adapterFor(engineOptions(fake));
    const task = await activatedTask(adapter, 4);

    await adapter.unlock(task);

    const job = fake.broker.job(task.id)!;
    expect(job.state).toBe('activatable');
    expect(job.retries).toBe(4);
    expect(job.failures[0]?.retryBackOff).toBe(0);
  });

  test('completing an ended job is rejected with 404', async () => {
    const adapter = adapterFor(engineOptions(fake));
    const task = await activatedTask(adapter);
    await adapter.complete(task, {});

    const error = await adapter.complete(task, {}).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(EngineRequestError);
    expect((error as EngineRequestError).status).toBe(404);
    expect((error as EngineRequestError).message).toContain('NOT_FOUND');
  });

  test('lockOf reads the job, undefined once it ended', async () => {
    const adapter = adapterFor(engineOptions(fake));
    const task = await activatedTask(adapter);

    expect(await adapter.lockOf(task.id)).toMatchObject({ workerId: 'adapter-test' });
    await adapter.complete(task, {});
    expect(await adapter.lockOf(task.id)).toBeUndefined();
    expect(await adapter.lockOf('1')).toBeUndefined();
  });

  test('engine unreachable is an error without status', async () => {
    const engine = engineOptions(fake);
    await fake.close();
    fake = await startCamunda8ProtocolFake();
    const adapter = adapterFor({ ...engine, baseUrl: 'http://127.0.0.1:1' });

    const error = await adapter.fetchAndLock({ topics: [{ topic: 'charge', lockDurationMs: 1_000 }], maxTasks: 1, longPollMs: 0 }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(EngineRequestError);
    expect((error as EngineRequestError).status).toBeUndefined();
  });
});

describe('authentication', () => {
  test('basic auth is sent on every call', async () => {
    await start({ type: 'basic', username: 'demo', password: 's3cret' });
    const definition = fake.broker.deploy('order', XML);
    fake.broker.createJob(definition, { elementId: 'Charge', type: 'charge' });
    const adapter = adapterFor(engineOptions(fake, '  auth: { type: basic, username: demo, password: s3cret }'));

    const fetched = await adapter.fetchAndLock({ topics: [{ topic: 'charge', lockDurationMs: 20_000 }], maxTasks: 1, longPollMs: 0 });
    await adapter.complete(fetched[0]!.task, {});

    expect(fake.requests.every((request) => request.headers.authorization?.startsWith('Basic '))).toBe(true);
  });

  test('wrong basic credentials are refused with 401', async () => {
    await start({ type: 'basic', username: 'demo', password: 's3cret' });
    const adapter = adapterFor(engineOptions(fake, '  auth: { type: basic, username: demo, password: wrong }'));

    const error = await adapter.fetchAndLock({ topics: [{ topic: 'charge', lockDurationMs: 20_000 }], maxTasks: 1, longPollMs: 0 }).catch((caught: unknown) => caught);

    expect((error as EngineRequestError).status).toBe(401);
    expect((error as EngineRequestError).message).toContain('check engine.auth');
  });

  test('OAuth client credentials fetch one token', async () => {
    await start({ type: 'oauth', clientId: 'router', clientSecret: 'shh', audience: 'zeebe-api' });
    const definition = fake.broker.deploy('order', XML);
    fake.broker.createJob(definition, { elementId: 'Charge', type: 'charge' });
    const auth = `  auth: { type: oauth, clientId: router, clientSecret: shh, tokenUrl: '${fake.tokenUrl}', audience: zeebe-api }`;
    const adapter = adapterFor(engineOptions(fake, auth));

    const fetched = await adapter.fetchAndLock({ topics: [{ topic: 'charge', lockDurationMs: 20_000 }], maxTasks: 1, longPollMs: 0 });
    await adapter.complete(fetched[0]!.task, {});

    expect(fake.tokensIssued).toBe(1);
    expect(fake.requests.every((request) => request.headers.authorization?.startsWith('Bearer '))).toBe(true);
  });
});

describe('definition XML', () => {
  beforeEach(() => start());

  test('retries 404 right after deployment', async () => {
    const definition = fake.broker.deploy('order', XML, { xmlNotFoundCount: 2 });
    const source = new Camunda8Definitions(engineOptions(fake), { retry: { maxAttempts: 5, initialDelayMs: 20, maxDelayMs: 100 } });
    adapters.push(source);

    expect(await source.definitionXml(definition.processDefinitionKey)).toBe(XML);
    expect(definition.xmlRequests).toBe(3);
  });

  test('gives up after the last attempt', async () => {
    const definition = fake.broker.deploy('order', XML, { xmlNotFoundCount: 10 });
    const source = new Camunda8Definitions(engineOptions(fake), { retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 10 } });
    adapters.push(source);

    const error = await source.definitionXml(definition.processDefinitionKey).catch((caught: unknown) => caught);

    expect((error as EngineRequestError).status).toBe(404);
    expect((error as EngineRequestError).message).toMatch(/not found .* after 3 attempts/);
    expect(definition.xmlRequests).toBe(3);
  });

  test('other errors are not retried', async () => {
    const definition = fake.broker.deploy('order', XML);
    fake.failNext(/\/xml$/, 500);
    const source = new Camunda8Definitions(engineOptions(fake), { retry: { maxAttempts: 5, initialDelayMs: 10, maxDelayMs: 10 } });
    adapters.push(source);

    const error = await source.definitionXml(definition.processDefinitionKey).catch((caught: unknown) => caught);

    expect((error as EngineRequestError).status).toBe(500);
    expect(definition.xmlRequests).toBe(0);
  });
});

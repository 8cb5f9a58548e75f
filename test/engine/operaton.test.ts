import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import {
  countProcessInstances,
  deployBpmn,
  getEngineVersion,
  listActivityInstances,
  listExternalTasks,
  listIncidents,
  startProcessInstance,
  waitFor,
} from '../../src/demo/engine-rest.ts';
import { EngineRequestError, EngineStartError, WaitTimeoutError } from '../../src/errors.ts';
import { linearProcess } from '../support/bpmn.ts';
import { engineUrl, startPrivateEngine, stopPrivateEngines, uniqueProcessKey } from '../support/engine.ts';

afterAll(async () => {
  await stopPrivateEngines();
});

/** Deploys a process with one external task `Work` on `topic` and returns its key. */
async function deployExternalTaskProcess(baseUrl: string, topic: string, auth?: { username: string; password: string }): Promise<string> {
  const key = uniqueProcessKey('EngineTest');
  const definitions = await deployBpmn(baseUrl, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Work', topic }]) }], { auth });
  expect(definitions.map((definition) => definition.key)).toEqual([key]);
  return key;
}

function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describe('shared engine', () => {
  test('responds to GET /version', async () => {
    const version = await getEngineVersion(engineUrl());

    expect(version).toMatch(/^\d+\.\d+\.\d+/);
  });

  test('external task carries its topic', async () => {
    const topic = uniqueProcessKey('topic');
    const key = await deployExternalTaskProcess(engineUrl(), topic);

    const instance = await startProcessInstance(engineUrl(), key, { businessKey: 'order-1', variables: { orderId: 'A-1' } });

    const tasks = await listExternalTasks(engineUrl(), { processInstanceId: instance.id });
    expect(tasks).toHaveLength(1);
    expect(tasks[0]?.topicName).toBe(topic);
    expect(tasks[0]?.activityId).toBe('Work');
    expect(tasks[0]?.businessKey).toBe('order-1');
    expect(await countProcessInstances(engineUrl(), key)).toEqual({ running: 1, finished: 0 });
    expect(await listIncidents(engineUrl(), { processInstanceId: instance.id })).toEqual([]);

    const activities = await listActivityInstances(engineUrl(), instance.id);
    expect(activities.map((activity) => activity.activityId)).toEqual(['Start', 'Work']);
    expect(activities[1]?.endTime).toBeNull();
  });

  test('variables arrive with engine types', async () => {
    const key = await deployExternalTaskProcess(engineUrl(), uniqueProcessKey('topic'));
    const variables = {
      text: 'A-1',
      paid: false,
      count: 3,
      large: 2 ** 40,
      exact: 9_007_199_254_740_993n,
      price: 12.5,
      empty: null,
      due: new Date('2026-01-31T09:30:00.000Z'),
      order: { items: [{ sku: 'X', quantity: 2 }] },
    };

    const instance = await startProcessInstance(engineUrl(), key, { variables });

    const response = await request(`${engineUrl()}/process-instance/${instance.id}/variables?deserializeValues=false`);
    const stored = (await response.body.json()) as Record<string, { type: string; value: unknown }>;
    expect(stored.text).toMatchObject({ type: 'String', value: 'A-1' });
    expect(stored.paid).toMatchObject({ type: 'Boolean', value: false });
    expect(stored.count).toMatchObject({ type: 'Integer', value: 3 });
    expect(stored.large).toMatchObject({ type: 'Long', value: 2 ** 40 });
    expect(stored.exact?.type).toBe('Long');
    expect(stored.price).toMatchObject({ type: 'Double', value: 12.5 });
    expect(stored.empty).toMatchObject({ type: 'Null', value: null });
    expect(stored.due?.type).toBe('Date');
    expect(new Date(String(stored.due?.value).replace(/\+0000$/, 'Z')).toISOString()).toBe('2026-01-31T09:30:00.000Z');
    expect(stored.order?.type).toBe('Json');
    expect(JSON.parse(String(stored.order?.value))).toEqual(variables.order);
  });

  test('unknown process key raises EngineRequestError', async () => {
    const key = uniqueProcessKey('Missing');

    const failure = startProcessInstance(engineUrl(), key);

    await expect(failure).rejects.toBeInstanceOf(EngineRequestError);
    await expect(failure).rejects.toMatchObject({ code: 'ERR_ENGINE_REQUEST', status: 404 });
    await expect(failure).rejects.toThrow(`${engineUrl()}/process-definition/key/${key}/start`);
    await expect(failure).rejects.toThrow(`No matching process definition with key: ${key}`);
  });

  test('invalid variable raises TypeError', async () => {
    const failure = startProcessInstance(engineUrl(), 'Unused', { variables: { ratio: Number.NaN } });

    await expect(failure).rejects.toThrow(new TypeError('variable "ratio" is NaN, which JSON cannot carry'));
  });
});

describe('waitFor', () => {
  test('returns first truthy value', async () => {
    let calls = 0;

    const value = await waitFor(() => (++calls >= 3 ? `call ${calls}` : undefined), { intervalMs: 1 });

    expect(value).toBe('call 3');
  });

  test('times out with last value', async () => {
    const failure = waitFor(() => 0, { timeoutMs: 50, intervalMs: 5, description: 'a positive count' });

    await expect(failure).rejects.toBeInstanceOf(WaitTimeoutError);
    await expect(failure).rejects.toThrow('timed out after 50 ms waiting for a positive count; last value: 0');
  });
});

describe('private engine', () => {
  test('basic auth rejects missing credentials', async () => {
    const auth = { username: 'demo', password: 'secret "quoted" : colon' };
    const engine = await startPrivateEngine({ basicAuth: auth });

    const anonymous = await request(`${engine.restUrl}/version`);
    await anonymous.body.dump();
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic /);

    expect(await getEngineVersion(engine.restUrl, { auth })).toMatch(/^\d+\.\d+\.\d+/);
    const key = await deployExternalTaskProcess(engine.restUrl, 'auth-topic', auth);
    await startProcessInstance(engine.restUrl, key, { auth });
    expect(await countProcessInstances(engine.restUrl, key, { auth })).toEqual({ running: 1, finished: 0 });

    const wrongPassword = getEngineVersion(engine.restUrl, { auth: { username: 'demo', password: 'wrong' } });
    await expect(wrongPassword).rejects.toMatchObject({ code: 'ERR_ENGINE_REQUEST', status: 401 });

    await engine.stop();
  });

  test('file database survives restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'operaton-db-'));
    try {
      const engine = await startPrivateEngine({ database: { file: join(dataDir, 'engine') } });
      const urlBefore = engine.restUrl;
      const pidBefore = engine.pid;
      const key = await deployExternalTaskProcess(engine.restUrl, 'restart-topic');
      const instance = await startProcessInstance(engine.restUrl, key, { businessKey: 'kept' });

      await engine.restart();

      expect(engine.restUrl).toBe(urlBefore);
      expect(engine.pid).not.toBe(pidBefore);
      expect(isGone(pidBefore)).toBe(true);
      expect(await countProcessInstances(engine.restUrl, key)).toEqual({ running: 1, finished: 0 });
      const tasks = await listExternalTasks(engine.restUrl, { processInstanceId: instance.id });
      expect(tasks.map((task) => task.topicName)).toEqual(['restart-topic']);

      const pidAfter = engine.pid;
      await engine.stop();
      await engine.stop();
      expect(isGone(pidAfter)).toBe(true);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('occupied port fails with log tail', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const failure = startPrivateEngine({ port });

      await expect(failure).rejects.toBeInstanceOf(EngineStartError);
      await expect(failure).rejects.toMatchObject({ code: 'ERR_ENGINE_START' });
      await expect(failure).rejects.toThrow('the engine exited with code 1 during start-up');
      await expect(failure).rejects.toThrow(`listening on port ${port}`);
    } finally {
      blocker.close();
    }
  });
});

/**
 * The Redis tier on the machine's Redis (127.0.0.1:6379): replicas share
 * parsed definitions, and entries of another format version are ignored.
 * Each test writes under its own key prefix and deletes its keys afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { parseConfig } from '../../src/config/load.ts';
import { parseDefinition } from '../../src/definitions/bpmn-extractor.ts';
import { encodeModel, MODEL_FORMAT_VERSION } from '../../src/definitions/model-codec.ts';
import { RedisDefinitionStore } from '../../src/definitions/redis-store.ts';
import { DefinitionRepository } from '../../src/definitions/repository.ts';
import { countProcessInstances, deployBpmn, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import { Camunda7Rest } from '../../src/engine/camunda7/rest.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { linearProcess } from '../support/bpmn.ts';
import { startCountingProxy } from '../support/counting-proxy.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer } from '../support/http-server.ts';
import { deleteKeys, readKey, SHARED_REDIS_URL, uniqueKeyPrefix, writeKey } from '../support/redis.ts';
import { CountingSource } from '../support/counting-source.ts';

const cli = resolve('src/cli/main.ts');

interface DaemonProcess {
  child: ChildProcess;
  output(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `start --config FILE` as a child process and waits for its "running" log line. */
async function spawnDaemon(configFile: string): Promise<DaemonProcess> {
  const child = spawn(process.execPath, [cli, 'start', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));

  try {
    await waitFor(() => output.includes('"state":"running"') || child.exitCode !== null, { timeoutMs: 20_000, description: 'the daemon to run' });
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`daemon did not start: ${output}`, { cause: error });
  }
  if (child.exitCode !== null) {
    throw new Error(`daemon exited with ${child.exitCode}: ${output}`);
  }
  return {
    child,
    output: () => output,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('redis tier shared by replicas', () => {
  const url = engineUrl();
  const prefix = uniqueKeyPrefix();

  afterAll(async () => {
    await deleteKeys(SHARED_REDIS_URL, prefix);
  });

  test('second daemon process fetches no XML', async () => {
    const key = uniqueProcessKey('RedisReplicas');
    const topic = `${key}-work`;
    const [definition] = await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Work', topic }, { id: 'More', topic }]) }]);
    const service = await startTestServer((_request, response) => sendJson(response, 200, { variables: {} }));
    const proxies = [await startCountingProxy(url), await startCountingProxy(url)];
    const folder = mkdtempSync(join(tmpdir(), 'router-redis-'));
    const configFiles = proxies.map((proxy, index) => {
      const file = join(folder, `daemon-${index}.yaml`);
      writeFileSync(file, `
engine: { baseUrl: '${proxy.url}', asyncResponseTimeout: 1s }
services: { backend: { baseUrl: '${service.url}' } }
topics: [{ topic: ${topic}, service: backend }]
cache:
  redis: { url: '${SHARED_REDIS_URL}', keyPrefix: '${prefix}' }
logging: { level: debug }
`);
      return file;
    });

    try {
      for (const [index, file] of configFiles.entries()) {
        const daemon = await spawnDaemon(file);
        try {
          await startProcessInstance(url, key);
          await waitFor(async () => (await countProcessInstances(url, key)).finished === index + 1, {
            timeoutMs: 30_000,
            description: `instance ${index + 1} of ${key} to finish`,
          });
        } finally {
          expect(await daemon.stop()).toBe(0);
        }
        if (index === 0) {
          expect(daemon.output()).toContain('"msg":"definition fetched from the engine"');
        } else {
          expect(daemon.output()).toContain('"msg":"definition read from redis"');
          expect(daemon.output()).not.toContain('"msg":"definition fetched from the engine"');
        }
      }

      expect(proxies[0]?.xmlFetches).toBe(1);
      expect(proxies[1]?.xmlFetches).toBe(0);
      expect(await readKey(SHARED_REDIS_URL, `${prefix}definition:v${MODEL_FORMAT_VERSION}:${definition!.id}`)).toBeDefined();
    } finally {
      await Promise.all(proxies.map((proxy) => proxy.close()));
      await service.close();
    }
  });

  test('second repository reads the first one\'s model', async () => {
    const key = uniqueProcessKey('RedisRepository');
    const [definition] = await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Work', topic: key, properties: { path: '/work' } }]) }]);
    const config = parseConfig(`engine: { baseUrl: ${url} }\ntopics: [{ topic: unused }]\ncache: { redis: { url: '${SHARED_REDIS_URL}', keyPrefix: '${prefix}' } }\n`, { env: {} });
    const rest = new Camunda7Rest(config.engine);
    const stores = [new RedisDefinitionStore(config.cache.redis!, createLogger({ level: 'silent' })), new RedisDefinitionStore(config.cache.redis!, createLogger({ level: 'silent' }))];
    const sources = [new CountingSource(rest), new CountingSource(rest)];

    try {
      const first = await new DefinitionRepository(sources[0]!, config.cache.definitions, { shared: stores[0] }).get(definition!.id);
      const secondRepository = new DefinitionRepository(sources[1]!, config.cache.definitions, { shared: stores[1] });
      const second = await secondRepository.get(definition!.id);

      expect(sources.map((source) => source.fetches)).toEqual([1, 0]);
      expect([...second.activities.values()]).toEqual([...first.activities.values()]);
      expect(second.processes).toEqual(first.processes);
      expect(second.sourceBytes).toBe(first.sourceBytes);
      expect(secondRepository.stats().shared).toMatchObject({ state: 'available', hits: 1, misses: 0, errors: 0 });
    } finally {
      await Promise.all(stores.map((store) => store.close()));
      await rest.close();
    }
  });

  test('model survives the round trip', async () => {
    const store = new RedisDefinitionStore(
      parseConfig(`engine: { baseUrl: ${url} }\ntopics: [{ topic: unused }]\ncache: { redis: { url: '${SHARED_REDIS_URL}', keyPrefix: '${prefix}' } }\n`, { env: {} }).cache.redis!,
      createLogger({ level: 'silent' }),
    );
    const model = parseDefinition(readFileSync(new URL('../fixtures/bpmn/camunda7-order.bpmn', import.meta.url)));

    try {
      await store.write('roundtrip:1:a', model);
      const stored = await store.read('roundtrip:1:a');

      expect(stored).toBeDefined();
      expect([...stored!.activities.entries()]).toStrictEqual([...model.activities.entries()]);
      expect(stored!.processes).toStrictEqual(model.processes);
      expect(stored!.targetNamespace).toBe(model.targetNamespace);
      expect(Object.isFrozen(stored!.activities.get('ChargeCard'))).toBe(true);
      expect(Object.getPrototypeOf(stored!.activities.get('ChargeCard')!.properties)).toBeNull();
    } finally {
      await store.close();
    }
  });

  test('entries of other format versions ignored', async () => {
    const key = uniqueProcessKey('RedisFormat');
    const [definition] = await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Work', topic: key }]) }]);
    const config = parseConfig(`engine: { baseUrl: ${url} }\ntopics: [{ topic: unused }]\ncache: { redis: { url: '${SHARED_REDIS_URL}', keyPrefix: '${prefix}' } }\n`, { env: {} });
    const rest = new Camunda7Rest(config.engine);
    const lines: string[] = [];
    const store = new RedisDefinitionStore(config.cache.redis!, createLogger({ level: 'warn', destination: { write: (line: string) => lines.push(line) } }));
    const current = `${prefix}definition:v${MODEL_FORMAT_VERSION}:${definition!.id}`;
    const model = parseDefinition(linearProcess(key, [{ id: 'Stale', topic: key }]));

    try {
      // An entry an older daemon wrote under its own version, and a value from a future format under the current key.
      await writeKey(SHARED_REDIS_URL, `${prefix}definition:v${MODEL_FORMAT_VERSION - 1}:${definition!.id}`, encodeModel(model));
      await writeKey(SHARED_REDIS_URL, current, encodeModel(model).replace(`"format":${MODEL_FORMAT_VERSION}`, '"format":99'));
      const source = new CountingSource(rest);
      const loaded = await new DefinitionRepository(source, config.cache.definitions, { shared: store }).get(definition!.id);

      expect(source.fetches).toBe(1);
      expect([...loaded.activities.keys()]).toContain('Work');
      expect(store.stats()).toMatchObject({ invalidEntries: 1, hits: 0, misses: 1, writes: 1 });
      expect(lines.join('')).toContain('format 99, expected 1');
      expect(await readKey(SHARED_REDIS_URL, current)).toContain(`"format":${MODEL_FORMAT_VERSION}`);
    } finally {
      await store.close();
      await rest.close();
    }
  });
});

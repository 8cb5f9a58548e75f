/**
 * ServiceOrchestrator's options: the configuration as plain values, the
 * settings only the library has (debug, enableMetrics, cache lifetimes in
 * seconds), and the errors for bad ones.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { parseConfig } from '../../src/config/load.ts';
import { deployBpmn, startProcessInstance } from '../../src/demo/engine-rest.ts';
import type { Task } from '../../src/engine/types.ts';
import { ConfigError, MetricsDisabledError } from '../../src/errors.ts';
import { ServiceOrchestrator, type OrchestratorOptions } from '../../src/orchestrator.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { linearProcess } from '../support/bpmn.ts';
import { writeConfig } from '../support/cli.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

const MINIMAL = {
  engine: { baseUrl: 'http://127.0.0.1:1/engine-rest' },
  topics: [{ topic: 'unused' }],
} satisfies OrchestratorOptions;

/** Creates an orchestrator that must be rejected and returns its problems; throws if it was accepted. */
function issuesOf(options: OrchestratorOptions): ConfigError['issues'] {
  try {
    void new ServiceOrchestrator(options).close();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected the options to be rejected');
}

function taskOf(id: string, definitionId: string, topic: string, processInstanceId: string): Task {
  return {
    id, topic, activityId: 'Reserve', activityInstanceId: undefined, processInstanceId, processDefinitionId: definitionId,
    processDefinitionKey: undefined, businessKey: undefined, tenantId: undefined, retries: null, priority: 0, workerId: 'options-test',
    lockExpiresAt: undefined,
  };
}

describe('orchestrator options without a file', () => {
  const opened: ServiceOrchestrator[] = [];
  const open = (options: OrchestratorOptions) => {
    const orchestrator = new ServiceOrchestrator(options);
    opened.push(orchestrator);
    return orchestrator;
  };

  afterAll(async () => {
    await Promise.all(opened.map((orchestrator) => orchestrator.close()));
  });

  test('sections compile like the file', () => {
    const orchestrator = open({
      engine: { baseUrl: 'http://127.0.0.1:1/engine-rest/', requestTimeout: '5s' },
      services: { inventory: { baseUrl: 'http://127.0.0.1:2', maxConcurrent: 4 } },
      topics: [{ topic: 'reserve-stock', service: 'inventory', path: '/reserve', errors: { 409: 'OUT_OF_STOCK' } }],
    });

    expect(orchestrator.config.engine.baseUrl).toBe('http://127.0.0.1:1/engine-rest');
    expect(orchestrator.config.engine.requestTimeoutMs).toBe(5_000);
    expect(orchestrator.config.services.get('inventory')).toMatchObject({ maxConcurrent: 4, timeoutMs: 10_000 });
    expect(orchestrator.config.topics[0]?.errors.get(409)).toEqual({ code: 'OUT_OF_STOCK', message: undefined });
    expect(orchestrator.config.source).toBeUndefined();
  });

  test('seconds settings set cache lifetimes', () => {
    const { cache } = open({ ...MINIMAL, xmlCacheTtl: 3600, propsCacheTtl: 1800, docsCacheTtl: 7200 }).config;

    expect(cache.definitions).toMatchObject({ ttlMs: 3_600_000, maxTtlMs: 86_400_000 });
    expect(cache.properties).toMatchObject({ ttlMs: 1_800_000, maxTtlMs: 86_400_000 });
    // Above the docs cache's default cap of one hour, the cap grows with the lifetime.
    expect(cache.docs).toMatchObject({ ttlMs: 7_200_000, maxTtlMs: 7_200_000 });
  });

  test('cache lifetimes default without settings', () => {
    const { cache } = open(MINIMAL).config;

    expect(cache.definitions.ttlMs).toBe(3_600_000);
    expect(cache.properties.ttlMs).toBe(3_600_000);
    expect(cache.docs.ttlMs).toBe(600_000);
  });

  test('seconds settings override a compiled config', () => {
    const config = parseConfig('engine: { baseUrl: http://127.0.0.1:1/engine-rest }\ntopics: [{ topic: unused }]\ncache: { properties: { ttl: 2h } }\n', { env: {} });

    const { cache } = open({ config, xmlCacheTtl: 60, docsCacheTtl: 0.5 }).config;

    expect(cache.definitions).toMatchObject({ ttlMs: 60_000, maxTtlMs: 86_400_000 });
    expect(cache.properties.ttlMs).toBe(7_200_000);
    expect(cache.docs.ttlMs).toBe(500);
  });

  test('fromConfig applies the settings', () => {
    const file = writeConfig('engine: { baseUrl: http://127.0.0.1:1/engine-rest }\ntopics: [{ topic: unused }]\n', 'orchestrator-options-');

    const orchestrator = ServiceOrchestrator.fromConfig(file, { propsCacheTtl: 90, enableMetrics: false });
    opened.push(orchestrator);

    expect(orchestrator.config.source).toBe(file);
    expect(orchestrator.config.cache.properties.ttlMs).toBe(90_000);
    expect(orchestrator.metricsEnabled).toBe(false);
  });

  test('bad settings are listed together', () => {
    const issues = issuesOf({
      ...MINIMAL,
      debug: 'yes' as unknown as boolean,
      enableMetrics: 1 as unknown as boolean,
      xmlCacheTtl: -1,
      propsCacheTtl: '1h' as unknown as number,
      docsCacheTtl: Number.POSITIVE_INFINITY,
    });

    expect(issues.map((issue) => issue.path)).toEqual(['debug', 'enableMetrics', 'xmlCacheTtl', 'propsCacheTtl', 'docsCacheTtl']);
    expect(issues[0]).toMatchObject({ received: '"yes"', expected: 'true or false' });
    expect(issues[2]).toMatchObject({ received: '-1', expected: 'a number of seconds above zero, such as 3600' });
    expect(issues[3]).toMatchObject({ received: '"1h"' });
  });

  test('ttl set both ways is rejected', () => {
    const issues = issuesOf({ ...MINIMAL, xmlCacheTtl: 60, cache: { definitions: { ttl: '2h' } } });

    expect(issues).toEqual([{
      path: 'xmlCacheTtl',
      received: '60 together with cache.definitions.ttl "2h"',
      expected: 'one of the two; both set the lifetime of the definitions cache',
    }]);
  });

  test('config with sections is rejected', () => {
    const config = parseConfig('engine: { baseUrl: http://127.0.0.1:1/engine-rest }\ntopics: [{ topic: unused }]\n', { env: {} });

    const issues = issuesOf({ config, engine: { baseUrl: 'http://127.0.0.1:3/engine-rest' } });

    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: 'config', received: 'config together with engine' });
  });

  test('section problems name the key path', () => {
    const issues = issuesOf({
      engine: { baseUrl: 'ftp://127.0.0.1/engine-rest' },
      topics: [{ topic: 'reserve-stock', service: 'inventory' }],
      servics: {},
    } as OrchestratorOptions);

    expect(issues.map((issue) => issue.path).sort()).toEqual(['engine.baseUrl', 'servics']);
    expect(issues.find((issue) => issue.path === 'servics')?.expected).toBe('no such key; check its spelling and indentation');
  });

  test('undeclared service is rejected', () => {
    const issues = issuesOf({ engine: MINIMAL.engine, topics: [{ topic: 'reserve-stock', service: 'inventory' }] });

    expect(issues).toEqual([{ path: 'topics[0].service', received: '"inventory"', expected: 'a service declared under services (none declared)' }]);
  });

  test('no options name the missing engine', () => {
    const issues = issuesOf(undefined as unknown as OrchestratorOptions);

    expect(issues.map((issue) => issue.path)).toEqual(['engine', 'topics']);
  });

  test('debug with a logger is rejected', () => {
    const issues = issuesOf({ ...MINIMAL, debug: true, logger: createLogger({ level: 'silent' }) });

    expect(issues).toEqual([{
      path: 'debug',
      received: 'true together with logger',
      expected: 'one of the two; to log at debug level through your logger, set its level to debug',
    }]);
  });

  test('metrics off with OTLP metrics is rejected', () => {
    const issues = issuesOf({ ...MINIMAL, enableMetrics: false, telemetry: { metrics: { otlp: { endpoint: 'http://127.0.0.1:4318/v1/metrics' } } } });

    expect(issues.map((issue) => issue.path)).toEqual(['enableMetrics']);
  });
});

describe('orchestrator options on the real engine', () => {
  const url = engineUrl();
  const key = uniqueProcessKey('LibraryOptions');
  const topic = `${key}-reserve`;
  let inventory: TestServer;
  let definitionId: string;
  let processInstanceId: string;

  beforeAll(async () => {
    inventory = await startTestServer((_request, response) => sendJson(response, 200, { variables: { reserved: true } }));
    const [definition] = await deployBpmn(url, [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Reserve', topic }]) }]);
    definitionId = definition!.id;
    processInstanceId = (await startProcessInstance(url, key)).id;
  });

  afterAll(async () => {
    await inventory.close();
  });

  const sections = (): OrchestratorOptions => ({
    engine: { baseUrl: url },
    services: { inventory: { baseUrl: inventory.url } },
    topics: [{ topic, service: 'inventory', path: '/reserve' }],
  });

  test('metrics off still routes', async () => {
    const orchestrator = new ServiceOrchestrator({ ...sections(), enableMetrics: false });
    try {
      const outcome = await orchestrator.routeTask(taskOf('metrics-off', definitionId, topic, processInstanceId), {});

      expect(outcome).toMatchObject({ kind: 'complete', variables: { reserved: true } });
      expect(() => orchestrator.getMetrics()).toThrow(MetricsDisabledError);
      expect(() => orchestrator.getMetrics()).toThrow(expect.objectContaining({ code: 'ERR_METRICS_DISABLED' }));
    } finally {
      await orchestrator.close();
    }
  });

  test('debug writes JSON lines to stdout', async () => {
    const withDebug = await runInChild({ ...sections(), debug: true }, taskOf('debug-on', definitionId, topic, processInstanceId));
    const lines = withDebug.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);

    expect(withDebug.code).toBe(0);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'debug', msg: 'task dispatched', taskId: 'debug-on', service: 'inventory', outcome: 'complete' }));
  });

  test('no debug writes nothing', async () => {
    const quiet = await runInChild(sections(), taskOf('debug-off', definitionId, topic, processInstanceId));

    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toBe('');
  });
});

/** Routes one task in a child process with the given options and returns what it printed; the child is killed after 30 s. */
function runInChild(options: OrchestratorOptions, task: Task): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = join(mkdtempSync(join(tmpdir(), 'orchestrator-debug-')), 'route.ts');
  writeFileSync(script, `
import { ServiceOrchestrator } from ${JSON.stringify(resolve('src/index.ts'))};
const orchestrator = new ServiceOrchestrator(${JSON.stringify(options)});
const outcome = await orchestrator.routeTask(${JSON.stringify(task)}, {});
await orchestrator.close();
if (outcome.kind !== 'complete') {
  throw new Error('unexpected outcome ' + JSON.stringify(outcome));
}
`);

  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', rejectRun);
    child.once('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

import { parseConfig } from '../../src/config/load.ts';
import type { Clock } from '../../src/definitions/adaptive-cache.ts';
import { DefinitionRepository, type DefinitionSource } from '../../src/definitions/repository.ts';
import { deployBpmn, waitFor } from '../../src/demo/engine-rest.ts';
import { Camunda7Rest } from '../../src/engine/camunda7/rest.ts';
import type { Task } from '../../src/engine/types.ts';
import { DefinitionParseError } from '../../src/errors.ts';
import { ServiceOrchestrator } from '../../src/orchestrator.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { CountingSource } from '../support/counting-source.ts';

/** A fake clock for expiry tests: time moves only when the test calls `advance`. */
class FakeClock implements Clock {
  #now = 1_000;

  now(): number {
    return this.#now;
  }

  advance(milliseconds: number): void {
    this.#now += milliseconds;
  }
}

/** A fake source for the narrow parse-error test: it returns fixed text for every id. */
class FakeXmlSource implements DefinitionSource {
  readonly #xml: string;

  constructor(xml: string) {
    this.#xml = xml;
  }

  definitionXml(): Promise<string> {
    return Promise.resolve(this.#xml);
  }
}

/** A process with two documented external tasks whose properties name a service and a path. */
function documentedProcess(processId: string, topic: string, version: string, padding = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:c="http://camunda.org/schema/1.0/bpmn" targetNamespace="http://example.com/cache">
  <process id="${processId}" isExecutable="true" c:historyTimeToLive="P1D" c:versionTag="${version}">
    <startEvent id="Start" />
    <serviceTask id="Charge" c:type="external" c:topic="${topic}">
      <documentation>Charges the card (${version}).${padding}</documentation>
      <extensionElements><c:properties><c:property name="service" value="payments" /><c:property name="path" value="/charge" /></c:properties></extensionElements>
    </serviceTask>
    <serviceTask id="Ship" c:type="external" c:topic="${topic}" />
    <endEvent id="End" />
    <sequenceFlow id="F1" sourceRef="Start" targetRef="Charge" />
    <sequenceFlow id="F2" sourceRef="Charge" targetRef="Ship" />
    <sequenceFlow id="F3" sourceRef="Ship" targetRef="End" />
  </process>
</definitions>
`;
}

function taskOf(definitionId: string, activityId: string, topic: string): Task {
  return {
    id: `task-${activityId}`,
    topic,
    activityId,
    activityInstanceId: undefined,
    processInstanceId: 'instance-1',
    processDefinitionId: definitionId,
    processDefinitionKey: undefined,
    businessKey: undefined,
    tenantId: undefined,
    retries: null,
    priority: 0,
    workerId: 'cache-api-test',
    lockExpiresAt: undefined,
  };
}

describe('orchestrator cache API on the real engine', () => {
  const url = engineUrl();
  const key = uniqueProcessKey('CacheApi');
  const topic = `${key}-work`;
  const rest = new Camunda7Rest(parseConfig(`engine: { baseUrl: ${url} }\ntopics: [{ topic: unused }]\n`, { env: {} }).engine);
  let definitionId: string;

  function configText(extra = ''): string {
    return `
engine: { baseUrl: ${url} }
services:
  payments: { baseUrl: http://127.0.0.1:9 }
  shipping: { baseUrl: http://127.0.0.1:9 }
topics:
  - { topic: ${topic}, service: shipping, path: /ship }
cache:
  purgeInterval: 0
  definitions: { ttl: 10m, maxTtl: 1h, latestVersionTtl: 30s }
  properties: { ttl: 10m, maxTtl: 1h }
  docs: { ttl: 10m, maxTtl: 1h }
${extra}`;
  }

  function orchestrator(clock: FakeClock, source: DefinitionSource, extra = ''): ServiceOrchestrator {
    return new ServiceOrchestrator({ config: parseConfig(configText(extra), { env: {} }), definitionSource: source, clock });
  }

  beforeAll(async () => {
    const [definition] = await deployBpmn(url, [{ name: `${key}.bpmn`, xml: documentedProcess(key, topic, 'v1') }]);
    definitionId = definition!.id;
  });

  afterAll(async () => {
    await rest.close();
  });

  test('routes read properties through the properties cache', async () => {
    const source = new CountingSource(rest);
    const router = orchestrator(new FakeClock(), source);

    const charge = await router.resolveRoute(taskOf(definitionId, 'Charge', topic));
    const ship = await router.resolveRoute(taskOf(definitionId, 'Ship', topic));
    await router.resolveRoute(taskOf(definitionId, 'Charge', topic));

    expect(charge).toMatchObject({ kind: 'http', service: 'payments', path: '/charge' });
    expect(ship).toMatchObject({ kind: 'http', service: 'shipping', path: '/ship' });
    const metrics = router.getMetrics();
    expect(metrics.cacheMetrics.properties).toMatchObject({ hits: 1, misses: 2, size: 2 });
    expect(metrics.cacheMetrics.properties.topEntries[0]).toEqual({ key: `${definitionId}:Charge`, reads: 1 });
    expect(metrics.cacheMetrics.processXml).toMatchObject({ fetches: 1, misses: 1, hits: 1, size: 1 });
    expect(metrics.orchestratorMetrics.cacheHitRates.properties).toBeCloseTo(1 / 3);
    expect(metrics.orchestratorMetrics.cacheHitRates.processXml).toBeCloseTo(1 / 2);
    expect(source.fetches).toBe(1);
    await router.close();
  });

  test('cached properties survive a cleared definition', async () => {
    const source = new CountingSource(rest);
    const router = orchestrator(new FakeClock(), source);
    await router.resolveRoute(taskOf(definitionId, 'Charge', topic));

    expect(router.clearCacheItem('xml', definitionId)).toBe(true);
    const route = await router.resolveRoute(taskOf(definitionId, 'Charge', topic));

    expect(route).toMatchObject({ service: 'payments' });
    expect(source.fetches).toBe(1);
    await router.close();
  });

  test('documentation comes through the docs cache', async () => {
    const router = orchestrator(new FakeClock(), new CountingSource(rest));

    expect(await router.activityDocumentation(definitionId, 'Charge')).toBe('Charges the card (v1).');
    expect(await router.activityDocumentation(definitionId, 'Charge')).toBe('Charges the card (v1).');
    expect(await router.activityDocumentation(definitionId, 'Ship')).toBeUndefined();
    expect(await router.activityDocumentation(definitionId, 'NoSuchActivity')).toBeUndefined();

    expect(router.getMetrics().cacheMetrics.docs).toMatchObject({ hits: 1, misses: 3, size: 3 });
    await router.close();
  });

  test('clearCacheItem removes one entry per cache', async () => {
    const router = orchestrator(new FakeClock(), new CountingSource(rest));
    await router.resolveRoute(taskOf(definitionId, 'Charge', topic));
    await router.activityDocumentation(definitionId, 'Charge');

    expect(router.clearCacheItem('properties', `${definitionId}:Charge`)).toBe(true);
    expect(router.clearCacheItem('properties', `${definitionId}:Charge`)).toBe(false);
    expect(router.clearCacheItem('docs', `${definitionId}:Charge`)).toBe(true);
    expect(router.clearCacheItem('xml', definitionId)).toBe(true);
    expect(router.clearCacheItem('xml', definitionId)).toBe(false);
    expect(() => router.clearCacheItem('routes' as 'xml', 'x')).toThrow('unknown cache "routes": use one of "xml", "properties", "docs"');
    await router.close();
  });

  test('clearExpiredCacheEntries counts per cache', async () => {
    const clock = new FakeClock();
    const router = orchestrator(clock, new CountingSource(rest));
    await router.resolveRoute(taskOf(definitionId, 'Charge', topic));
    await router.resolveRoute(taskOf(definitionId, 'Ship', topic));
    await router.activityDocumentation(definitionId, 'Charge');

    expect(router.clearExpiredCacheEntries()).toEqual({ xml: 0, properties: 0, docs: 0 });
    clock.advance(10 * 60_000);
    // The definition was read twice (by the Ship and the documentation misses), so it lives 40 minutes.
    expect(router.clearExpiredCacheEntries()).toEqual({ xml: 0, properties: 2, docs: 1 });
    clock.advance(30 * 60_000);
    expect(router.clearExpiredCacheEntries()).toEqual({ xml: 1, properties: 0, docs: 0 });
    expect(router.getMetrics().cacheMetrics.processXml.size).toBe(0);
    await router.close();
  });

  test('purge sweep removes expired entries', async () => {
    const clock = new FakeClock();
    const router = new ServiceOrchestrator({
      config: parseConfig(configText().replace('purgeInterval: 0', 'purgeInterval: 20ms'), { env: {} }),
      definitionSource: new CountingSource(rest),
      clock,
    });
    await router.resolveRoute(taskOf(definitionId, 'Charge', topic));
    clock.advance(60 * 60_000);

    await waitFor(() => router.getMetrics().cacheMetrics.properties.size === 0, { timeoutMs: 5_000, description: 'the sweep to remove the entry' });
    expect(router.getMetrics().cacheMetrics.properties.expirations).toBe(1);
    expect(router.getMetrics().cacheMetrics.processXml.size).toBe(0);
    await router.close();
  });

  test('read entries outlive unread ones', async () => {
    const clock = new FakeClock();
    const router = orchestrator(clock, new CountingSource(rest));
    await router.resolveRoute(taskOf(definitionId, 'Charge', topic));
    await router.resolveRoute(taskOf(definitionId, 'Ship', topic));
    clock.advance(9 * 60_000);
    await router.resolveRoute(taskOf(definitionId, 'Charge', topic));
    clock.advance(2 * 60_000);

    expect(router.clearExpiredCacheEntries()).toEqual({ xml: 0, properties: 1, docs: 0 });
    expect(router.clearCacheItem('properties', `${definitionId}:Charge`)).toBe(true);
    await router.close();
  });

  test('latest version by key expires', async () => {
    const clock = new FakeClock();
    const versionKey = uniqueProcessKey('CacheApiLatest');
    const [first] = await deployBpmn(url, [{ name: `${versionKey}.bpmn`, xml: documentedProcess(versionKey, topic, 'v1') }]);
    const router = orchestrator(clock, new CountingSource(rest));
    expect((await router.latestDefinition(versionKey)).processes[0]?.versionTag).toBe('v1');

    const [second] = await deployBpmn(url, [{ name: `${versionKey}.bpmn`, xml: documentedProcess(versionKey, topic, 'v2') }]);
    expect(second!.id).not.toBe(first!.id);
    for (let read = 0; read < 5; read += 1) {
      expect((await router.latestDefinition(versionKey)).processes[0]?.versionTag).toBe('v1');
    }
    clock.advance(30_000);

    expect((await router.latestDefinition(versionKey)).processes[0]?.versionTag).toBe('v2');
    await router.close();
  });

  test('parse limit from config rejects naming the id', async () => {
    const largeKey = uniqueProcessKey('CacheApiLarge');
    const [large] = await deployBpmn(url, [{ name: `${largeKey}.bpmn`, xml: documentedProcess(largeKey, topic, 'v1', ' padding'.repeat(200)) }]);
    const router = orchestrator(new FakeClock(), new CountingSource(rest), 'definitions: { maxBytes: 1024 }\n');

    const error = await router.definition(large!.id).then(() => undefined, (rejection: unknown) => rejection);
    expect(error).toBeInstanceOf(DefinitionParseError);
    expect((error as DefinitionParseError).code).toBe('ERR_BPMN_LIMIT');
    expect((error as DefinitionParseError).definitionId).toBe(large!.id);
    expect((error as Error).message).toMatch(new RegExp(`^definition "${large!.id}" rejected: BPMN XML is \\d+ bytes, over the maxBytes limit of 1024`));
    await router.close();
  });
});

describe('parse errors name the definition', () => {
  const config = parseConfig('engine: { baseUrl: http://127.0.0.1:9/engine-rest }\ntopics: [{ topic: unused }]\n', { env: {} });

  test('malformed XML rejected with id and position', async () => {
    const truncated = '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">\n  <process id="p">\n';
    const repository = new DefinitionRepository(new FakeXmlSource(truncated), config.cache.definitions);

    const error = await repository.get('order:7:abc').then(() => undefined, (rejection: unknown) => rejection);
    expect(error).toBeInstanceOf(DefinitionParseError);
    expect((error as DefinitionParseError).code).toBe('ERR_BPMN_MALFORMED');
    expect((error as DefinitionParseError).line).toBe(3);
    expect((error as Error).message).toMatch(/^definition "order:7:abc" rejected: BPMN XML is not well-formed at line 3/);
  });

  test('failed task names the id once', async () => {
    const router = new ServiceOrchestrator({ config, definitionSource: new FakeXmlSource('<!DOCTYPE x><x/>') });

    const outcome = await router.routeTask(taskOf('order:8:def', 'Work', 'unused'));
    expect(outcome.kind).toBe('failure');
    expect(outcome.retryable).toBe(false);
    const message = outcome.kind === 'failure' ? outcome.message : '';
    expect(message).toMatch(/^definition "order:8:def" rejected: BPMN XML contains a document type declaration/);
    expect(message.split('order:8:def').length).toBe(2);
    await router.close();
  });
});

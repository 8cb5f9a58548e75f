import type { Daemon } from '../../src/daemon/daemon.ts';
import { parseConfig } from '../../src/config/load.ts';
import { deployBpmn, listIncidents, startProcessInstance, waitFor } from '../../src/demo/engine-rest.ts';
import { RouteError, UnknownServiceError } from '../../src/errors.ts';
import { resolveRoute } from '../../src/routing/route.ts';
import { unsafePathReason } from '../../src/routing/path-safety.ts';
import { linearProcess } from '../support/bpmn.ts';
import { issuesOf } from '../support/config.ts';
import { startDaemon } from '../support/daemon.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

const ESCAPING_PATHS = [
  ['dot-dot segment', '/../admin'],
  ['dot-dot in the middle', '/orders/../../admin'],
  ['trailing dot-dot', '/orders/..'],
  ['single dot segment', '/./admin'],
  ['encoded dot-dot', '/%2e%2e/admin'],
  ['mixed-case encoded dot-dot', '/%2E./admin'],
  ['double-encoded dot-dot', '/%252e%252e/admin'],
  ['encoded slash', '/orders%2f..%2fadmin'],
  ['double-encoded slash', '/orders%252fadmin'],
  ['encoded backslash', '/orders%5cadmin'],
  ['backslash', '/orders\\..\\admin'],
  ['absolute URL', 'http://127.0.0.1:1/steal'],
  ['scheme-relative URL', '//127.0.0.1:1/steal'],
  ['relative path', 'admin'],
  ['invalid percent-encoding', '/orders%zz'],
  ['newline', '/orders\r\nHost: elsewhere'],
  ['space', '/orders /x'],
  ['fragment', '/orders#x'],
] as const;

const SAFE_PATHS = ['/', '/orders', '/orders/42/items', '/v1.2/orders', '/orders..all', '/orders?mode=fast&x=..', '/a%20b'];

describe('route path checks', () => {
  test.each(ESCAPING_PATHS)('rejects %s', (_name, path) => {
    expect(unsafePathReason(path)).toEqual(expect.any(String));
  });

  test.each(SAFE_PATHS)('accepts %s', (path) => {
    expect(unsafePathReason(path)).toBeUndefined();
  });
});

describe('routes from activity properties', () => {
  const config = parseConfig(`
engine: { baseUrl: http://127.0.0.1:8080/engine-rest }
services:
  orders: { baseUrl: http://127.0.0.1:9000/api/v1 }
topics:
  - { topic: place, service: orders, path: /place }
`, {});
  const topic = config.topics[0]!;
  const activity = (properties: Record<string, string>) => ({ id: 'Place', properties, headers: {} });

  test.each(ESCAPING_PATHS)('path property with %s is rejected', (_name, path) => {
    expect(() => resolveRoute(config, topic, activity({ path }))).toThrow(RouteError);
  });

  test('rejection names the path and the activity', () => {
    expect(() => resolveRoute(config, topic, activity({ path: '/../admin' }))).toThrow(/invalid path "\/\.\.\/admin" on activity "Place".*dot segment/);
  });

  test('service property naming a URL is an undeclared service', () => {
    expect(() => resolveRoute(config, topic, activity({ service: 'http://127.0.0.1:1' }))).toThrow(UnknownServiceError);
  });

  test('zeebe header cannot name another host', () => {
    const route = () => resolveRoute(config, topic, { id: 'Place', properties: {}, headers: { service: 'attacker.example', path: '//attacker.example/x' } });
    expect(route).toThrow(UnknownServiceError);
  });

  test('config path escaping the base path is rejected', () => {
    const issues = issuesOf(`
engine: { baseUrl: http://127.0.0.1:8080/engine-rest }
services:
  orders: { baseUrl: http://127.0.0.1:9000/api/v1 }
topics:
  - { topic: place, service: orders, path: /../admin }
`);
    expect(issues.map((issue) => issue.path)).toEqual(['topics[0].path']);
    expect(issues[0]?.expected).toMatch(/dot segment/);
  });
});

describe('hostile route properties on a real engine', () => {
  const url = engineUrl();
  const key = uniqueProcessKey('Routing');
  let service: TestServer;
  let decoy: TestServer;
  let daemon: Daemon;

  beforeAll(async () => {
    service = await startTestServer((_request, response) => sendJson(response, 200, { variables: {} }));
    decoy = await startTestServer((_request, response) => sendJson(response, 200, { variables: {} }));
  });

  afterAll(async () => {
    await daemon?.stop(5_000);
    await service.close();
    await decoy.close();
  });

  test('no request leaves the base path or reaches another host', async () => {
    const decoyHost = decoy.url.replace('http:', '');
    const hostile: Record<string, string>[] = [
      { path: '/../admin' },
      { path: '/%2e%2e/admin' },
      { path: '/orders%2f..%2fadmin' },
      { path: `${decoyHost}/steal` },
      { path: `${decoy.url}/steal` },
      { service: decoy.url },
    ];
    await deployBpmn(url, hostile.map((properties, index) => ({
      name: `${key}-${index}.bpmn`,
      xml: linearProcess(`${key}_${index}`, [{ id: `Hostile${index}`, topic: `${key}-work`, properties }]),
    })));
    daemon = startDaemon(key, `
engine:
  baseUrl: ${url}
  asyncResponseTimeout: 1s
services:
  orders: { baseUrl: '${service.url}/api/v1' }
topics:
  - { topic: ${key}-work, service: orders, path: /place }
`);

    for (let index = 0; index < hostile.length; index += 1) {
      await startProcessInstance(url, `${key}_${index}`);
    }
    const incidents = await waitFor(async () => {
      const all = (await Promise.all(hostile.map((_, index) => listIncidents(url, { processDefinitionKey: `${key}_${index}` })))).flat();
      return all.length === hostile.length ? all : undefined;
    }, { timeoutMs: 30_000, description: `${hostile.length} incidents` });

    expect(decoy.requests).toHaveLength(0);
    expect(service.requests).toHaveLength(0);
    for (const incident of incidents) {
      expect(incident.incidentMessage).toMatch(/invalid path|is not declared/);
    }
    expect(daemon.state).toBe('running');
  });
});

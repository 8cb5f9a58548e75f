import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadConfigFile, parseConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';
import { issuesOf } from '../support/config.ts';

const VALID = `
engine:
  baseUrl: http://127.0.0.1:8080/engine-rest/
  maxTasks: 5
  lockDuration: 20s
services:
  inventory:
    baseUrl: http://127.0.0.1:9000/inventory
    timeout: 1500ms
    maxConcurrent: 4
    auth: { type: bearer, token: '\${INVENTORY_TOKEN}' }
topics:
  - topic: reserve-stock
    service: inventory
    path: /reserve
    variables: [orderId]
    errors:
      409: OUT_OF_STOCK
      422: { code: INVALID_ORDER, message: order rejected }
`;

function withTopic(topic: string): string {
  return `
engine: { baseUrl: http://127.0.0.1:8080/engine-rest }
services:
  inventory: { baseUrl: http://127.0.0.1:9000 }
topics:
${topic}
`;
}

describe('parseConfig', () => {
  test('compiles a valid file', () => {
    const config = parseConfig(VALID, { env: { INVENTORY_TOKEN: 'secret' } });

    expect(config.engine.baseUrl).toBe('http://127.0.0.1:8080/engine-rest');
    expect(config.engine.lockDurationMs).toBe(20_000);
    expect(config.engine.maxTasks).toBe(5);
    expect(config.engine.failure.retries).toBe(3);
    const inventory = config.services.get('inventory');
    expect(inventory?.timeoutMs).toBe(1500);
    expect(inventory?.auth).toEqual({ type: 'bearer', token: 'secret' });
    const [topic] = config.topics;
    expect(topic?.method).toBe('POST');
    expect(topic?.lockDurationMs).toBe(20_000);
    expect(topic?.errors.get(409)).toEqual({ code: 'OUT_OF_STOCK', message: undefined });
    expect(topic?.errors.get(422)).toEqual({ code: 'INVALID_ORDER', message: 'order rejected' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  test('env default applies when the variable is unset', () => {
    const config = parseConfig(VALID.replace('${INVENTORY_TOKEN}', '${INVENTORY_TOKEN:-fallback}'), { env: {} });
    expect(config.services.get('inventory')?.auth).toEqual({ type: 'bearer', token: 'fallback' });
  });

  test('missing env variable names it and its key path', () => {
    const [issue, ...others] = issuesOf(VALID);
    expect(others).toHaveLength(0);
    expect(issue?.path).toBe('services.inventory.auth.token');
    expect(issue?.received).toContain('INVENTORY_TOKEN');
    expect(issue?.line).toBe(11);
  });

  const cases: [string, string, string, string][] = [
    ['bad duration', withTopic('  - { topic: a, service: inventory, lockDuration: soon }'), 'topics[0].lockDuration', '"soon"'],
    ['unknown service', withTopic('  - { topic: a, service: billing }'), 'topics[0].service', '"billing"'],
    ['unknown key', withTopic('  - { topic: a, service: inventory, servce: x }'), 'topics[0].servce', '"x"'],
    ['bad method', withTopic('  - { topic: a, service: inventory, method: FETCH }'), 'topics[0].method', '"FETCH"'],
    ['bad status key', withTopic('  - { topic: a, service: inventory, errors: { 99: X } }'), 'topics[0].errors.99', '"X"'],
    ['service and handler', withTopic('  - { topic: a, service: inventory, handler: x.ts }'), 'topics[0]', '"topic"'],
    ['missing handler file', withTopic('  - { topic: a, handler: no/such/module.ts }'), 'topics[0].handler', '"no/such/module.ts"'],
    ['handler not a module', withTopic('  - { topic: a, handler: /etc/passwd }'), 'topics[0].handler', '"/etc/passwd"'],
    ['duplicate topic', withTopic('  - { topic: a, service: inventory }\n  - { topic: a, service: inventory }'), 'topics[1].topic', '"a"'],
    ['path without slash', withTopic('  - { topic: a, service: inventory, path: reserve }'), 'topics[0].path', '"reserve"'],
    ['no topics', 'engine: { baseUrl: http://127.0.0.1:8080/engine-rest }\ntopics: []', 'topics', '[]'],
    ['bad engine url', 'engine: { baseUrl: ftp://x }\ntopics: [{ topic: a }]', 'engine.baseUrl', '"ftp://x"'],
    ['maxTasks out of range', 'engine: { baseUrl: http://127.0.0.1:1/engine-rest, maxTasks: 0 }\ntopics: [{ topic: a }]', 'engine.maxTasks', '0'],
    ['missing engine', 'topics: [{ topic: a }]', 'engine', 'nothing'],
  ];

  test.each(cases)('%s is rejected with its key path', (_name, text, path, received) => {
    const issues = issuesOf(text);
    const issue = issues.find((candidate) => candidate.path === path);
    expect(issues.map((candidate) => candidate.path)).toContain(path);
    expect(issue?.received).toContain(received);
    expect(issue?.expected.length).toBeGreaterThan(0);
  });

  test('secret values are hidden in messages', () => {
    const text = `
engine:
  baseUrl: http://127.0.0.1:8080/engine-rest
  auth: { type: basic, username: demo, password: 42 }
topics: [{ topic: a }]
`;
    const [issue] = issuesOf(text);
    expect(issue?.path).toBe('engine.auth.password');
    expect(issue?.received).toBe('(hidden)');
  });

  test('values under auth and headers are hidden', () => {
    const text = `
engine: { baseUrl: http://127.0.0.1:8080/engine-rest }
services:
  s: { baseUrl: http://127.0.0.1:1, auth: S3CRET-1, headers: { Authorization: 12345 } }
topics: [{ topic: a, service: s }]
`;
    const issues = issuesOf(text);
    expect(issues.map((issue) => issue.path)).toEqual(['services.s.auth', 'services.s.headers.Authorization']);
    expect(issues.every((issue) => issue.received === '(hidden)')).toBe(true);
  });

  test('URL with credentials is rejected with them masked', () => {
    const [issue] = issuesOf('engine: { baseUrl: "http://user:S3CRET@127.0.0.1:8080/engine-rest" }\ntopics: [{ topic: a }]\n');
    expect(issue?.path).toBe('engine.baseUrl');
    expect(issue?.received).not.toContain('S3CRET');
    expect(issue?.expected).toContain('under auth');
  });

  test('zero timeout and lock duration are rejected', () => {
    const text = `
engine: { baseUrl: http://127.0.0.1:8080/engine-rest, lockDuration: 0 }
services: { s: { baseUrl: http://127.0.0.1:1, timeout: 0 } }
topics: [{ topic: a, service: s }]
`;
    expect(issuesOf(text).map((issue) => issue.path)).toEqual(['engine.lockDuration', 'services.s.timeout']);
  });

  test('alias bomb is a config error', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [index, name] of ['b', 'c', 'd', 'e'].entries()) {
      const previous = String.fromCharCode('a'.charCodeAt(0) + index);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]`);
    }
    const [issue] = issuesOf(levels.join('\n'));
    expect(issue?.path).toBe('(document)');
    expect(issue?.received).toContain('cannot be expanded');
  });

  test('unset variable is reported once', () => {
    const issues = issuesOf('engine: { baseUrl: "${ENGINE_URL}" }\ntopics: [{ topic: a }]\n');
    expect(issues).toHaveLength(1);
    expect(issues[0]?.received).toContain('ENGINE_URL unset');
  });

  test('every problem is reported at once', () => {
    const text = `
engine: { baseUrl: nope, maxTasks: many }
topics: [{ topic: a, method: FETCH }]
`;
    const paths = issuesOf(text).map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['engine.baseUrl', 'engine.maxTasks', 'topics[0].method']));
  });

  test('invalid YAML reports its position', () => {
    const [issue] = issuesOf('engine: [unclosed\n');
    expect(issue?.path).toBe('(document)');
    expect(issue?.line).toBeGreaterThanOrEqual(1);
  });
});

describe('top-level shape', () => {
  test.each([
    ['a list', '- engine\n- topics\n'],
    ['a string', 'just some text\n'],
    ['a number', '42\n'],
  ])('%s is rejected as a whole', (received, text) => {
    expect(issuesOf(text)).toEqual([{
      path: '(top level)',
      received,
      expected: 'a mapping with the keys engine, services and topics',
      line: 1,
      column: 1,
    }]);
  });
});

describe('loadConfigFile', () => {
  test('message names the file, line and key path', () => {
    const folder = mkdtempSync(join(tmpdir(), 'router-config-'));
    const file = join(folder, 'bad.yaml');
    writeFileSync(file, withTopic('  - topic: a\n    service: billing'));

    expect(() => loadConfigFile(file, {})).toThrow(/bad\.yaml:7:\d+ topics\[0\]\.service: received "billing"/);
  });

  test('unreadable file is a config error', () => {
    expect(() => loadConfigFile('/no/such/file.yaml', {})).toThrow(ConfigError);
  });

  test('handler path resolves against the file folder', () => {
    const folder = mkdtempSync(join(tmpdir(), 'router-config-'));
    writeFileSync(join(folder, 'handler.ts'), 'export default () => undefined;\n');
    const file = join(folder, 'ok.yaml');
    writeFileSync(file, withTopic('  - { topic: a, handler: handler.ts }'));

    expect(loadConfigFile(file, {}).topics[0]?.handler).toBe(join(folder, 'handler.ts'));
  });
});

import { parseConfig } from '../../src/config/load.ts';
import { resolveRoute } from '../../src/routing/route.ts';
import { TopicTable } from '../../src/routing/topic-table.ts';
import { RouteError, RouterError } from '../../src/errors.ts';
import { issuesOf } from '../support/config.ts';

function configWith(engine: string, topics: string): string {
  return `
engine:
  baseUrl: http://127.0.0.1:8080/engine-rest
${engine}
services:
  a: { baseUrl: http://127.0.0.1:9000 }
  b: { baseUrl: http://127.0.0.1:9001 }
topics:
${topics}
`;
}

describe('engine auth', () => {
  test('oauth client credentials compile with defaults', () => {
    const config = parseConfig(configWith(`  auth:
    type: oauth
    tokenUrl: http://127.0.0.1:9999/token
    clientId: router
    clientSecret: \${ENGINE_SECRET}`, '  - { topic: t, service: a }'), { env: { ENGINE_SECRET: 's3cret' } });

    expect(config.engine.auth).toEqual({
      type: 'oauth',
      tokenUrl: 'http://127.0.0.1:9999/token',
      clientId: 'router',
      clientSecret: 's3cret',
      scope: undefined,
      audience: undefined,
      clientAuthentication: 'basic',
    });
  });

  test('camunda8 oauth defaults its audience', () => {
    const config = parseConfig(`
engine:
  type: camunda8
  baseUrl: http://127.0.0.1:8080
  auth: { type: oauth, tokenUrl: 'http://127.0.0.1:9999/token', clientId: router, clientSecret: s3cret }
services:
  a: { baseUrl: http://127.0.0.1:9000 }
topics:
  - { topic: t, service: a }
`);

    expect(config.engine.auth).toMatchObject({ type: 'oauth', audience: 'zeebe.camunda.io' });
  });

  test('camunda8 rejects Camunda 7 topic keys', () => {
    const issues = issuesOf(`
engine: { type: camunda8, baseUrl: 'http://127.0.0.1:8080' }
services:
  a: { baseUrl: http://127.0.0.1:9000 }
topics:
  - { topic: t, service: a, tenantIds: [one], localVariables: true, variableTypes: { due: Date } }
`);

    expect(issues.map((issue) => issue.path).sort()).toEqual(['topics[0].localVariables', 'topics[0].tenantIds', 'topics[0].variableTypes']);
    expect(issues.find((issue) => issue.path === 'topics[0].tenantIds')?.expected).toBe('no tenantIds for camunda8; it needs engine.type: camunda7');
  });

  test('camunda8 rejects includeExtensionProperties', () => {
    const [issue, ...others] = issuesOf(`
engine: { type: camunda8, baseUrl: 'http://127.0.0.1:8080', includeExtensionProperties: true }
services:
  a: { baseUrl: http://127.0.0.1:9000 }
topics:
  - { topic: t, service: a }
`);

    expect(others).toEqual([]);
    expect(issue?.path).toBe('engine.includeExtensionProperties');
    expect(issue?.expected).toBe('false; it needs engine.type: camunda7');
  });

  test('an invalid secret stays hidden', () => {
    const issues = issuesOf(configWith(`  auth: { type: oauth, tokenUrl: 'http://127.0.0.1:9999/token', clientId: router, clientSecret: '' }`, '  - { topic: t, service: a }'));

    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('engine.auth.clientSecret');
    expect(issues[0]?.received).toBe('(hidden)');
    expect(issues[0]?.expected).toBe('a non-empty client secret');
  });

  test('an unknown auth type lists the allowed ones', () => {
    const [issue] = issuesOf(configWith('  auth: { type: bearer, token: x }', '  - { topic: t, service: a }'));

    expect(issue?.path).toBe('engine.auth.type');
    expect(issue?.expected).toContain('type: basic (username, password) or type: oauth (clientId, clientSecret, tokenUrl)');
  });

  test('includeExtensionProperties accepts an environment string', () => {
    const config = parseConfig(configWith('  includeExtensionProperties: ${FLAG}', '  - { topic: t, service: a }'), { env: { FLAG: 'true' } });

    expect(config.engine.includeExtensionProperties).toBe(true);
  });
});

describe('topic filters', () => {
  test('filters and variable options compile', () => {
    const config = parseConfig(configWith('', `  - topic: t
    service: a
    variables: [orderId]
    localVariables: true
    tenantIds: [acme]
    processDefinitionKeys: [order]
    processDefinitionVersionTag: '2.0'
    businessKey: vip
    variableTypes: { due: Date, order: 'Object:com.example.Order' }`));

    expect(config.topics[0]).toMatchObject({
      variables: ['orderId'],
      localVariables: true,
      tenantIds: ['acme'],
      withoutTenantId: false,
      processDefinitionKeys: ['order'],
      processDefinitionVersionTag: '2.0',
      businessKey: 'vip',
    });
    expect([...(config.topics[0]?.variableTypes ?? [])]).toEqual([
      ['due', { type: 'Date', objectTypeName: undefined }],
      ['order', { type: 'Object', objectTypeName: 'com.example.Order' }],
    ]);
  });

  test('one topic for two tenants is accepted', () => {
    const config = parseConfig(configWith('', `  - { topic: t, service: a, tenantIds: [one] }
  - { topic: t, service: b, tenantIds: [two] }
  - { topic: t, service: a, withoutTenantId: true }`));

    expect(config.topics.map((topic) => topic.service)).toEqual(['a', 'b', 'a']);
  });

  test.each([
    ['without filters', '  - { topic: t, service: a }\n  - { topic: t, service: b }', 'any tenant and any process definition key'],
    ['with a shared tenant', '  - { topic: t, service: a, tenantIds: [one, two] }\n  - { topic: t, service: b, tenantIds: [two] }', 'tenants one, two'],
    ['with one unfiltered', '  - { topic: t, service: a, withoutTenantId: true }\n  - { topic: t, service: b }', 'no tenant'],
    ['with a shared key', '  - { topic: t, service: a, processDefinitionKeys: [x] }\n  - { topic: t, service: b, processDefinitionKeys: [x, y] }', 'any tenant and process definition keys x'],
  ])('overlapping entries %s are rejected', (_name, topics, selection) => {
    const [issue, ...others] = issuesOf(configWith('', topics));

    expect(others).toEqual([]);
    expect(issue?.path).toBe('topics[1].topic');
    expect(issue?.expected).toContain(`topics[0] has it already, for ${selection}`);
    expect(issue?.expected).toContain('give them disjoint tenantIds or processDefinitionKeys');
  });

  test('tenantIds and withoutTenantId exclude each other', () => {
    const [issue] = issuesOf(configWith('', '  - { topic: t, service: a, tenantIds: [one], withoutTenantId: true }'));

    expect(issue?.path).toBe('topics[0].withoutTenantId');
    expect(issue?.expected).toContain('either tenantIds or withoutTenantId: true, not both');
  });

  test('an unknown variable type is rejected', () => {
    const [issue] = issuesOf(configWith('', '  - { topic: t, service: a, variableTypes: { due: Timestamp } }'));

    expect(issue?.path).toBe('topics[0].variableTypes.due');
    expect(issue?.received).toBe('"Timestamp"');
    expect(issue?.expected).toContain('one of String, Boolean, Short, Integer, Long, Double, Date, Json, Xml, Object, Bytes, File, Null');
  });
});

describe('routing by tenant', () => {
  const config = parseConfig(configWith('', `  - { topic: t, service: a, tenantIds: [one], variables: [orderId, amount], variableTypes: { due: Date } }
  - { topic: t, service: b, withoutTenantId: true }`));
  const table = new TopicTable(config.topics);

  test('each task finds its tenant entry', () => {
    expect(table.entryFor({ topic: 't', tenantId: 'one', processDefinitionKey: 'k' }).service).toBe('a');
    expect(table.entryFor({ topic: 't', tenantId: undefined, processDefinitionKey: 'k' }).service).toBe('b');
  });

  test('a tenant without an entry names the fix', () => {
    expect(() => table.entryFor({ topic: 't', tenantId: 'three', processDefinitionKey: 'k' })).toThrow(RouterError);
    expect(() => table.entryFor({ topic: 't', tenantId: 'three', processDefinitionKey: 'k' }))
      .toThrow('no entry of topic "t" serves tenant "three" and process definition key "k"; add one under topics: or widen the tenantIds or processDefinitionKeys of an entry');
  });

  test('activity narrows variables, adds types', () => {
    const topic = table.entryFor({ topic: 't', tenantId: 'one', processDefinitionKey: 'k' });

    const route = resolveRoute(config, topic, { id: 'Pay', properties: { variables: 'orderId', variableTypes: 'paid=Boolean, receipt=Object:com.example.Receipt' }, headers: {} });

    expect(route.variables).toEqual(['orderId']);
    expect([...route.variableTypes.keys()]).toEqual(['due', 'paid', 'receipt']);
    expect(route.variableTypes.get('receipt')).toEqual({ type: 'Object', objectTypeName: 'com.example.Receipt' });
  });

  test.each([
    [{ variables: 'orderId,blob' }, 'activity "Pay" (topic "t") needs variables blob that topic "t" does not fetch'],
    [{ variableTypes: 'due:Date' }, 'invalid variableTypes entry "due:Date" on activity "Pay" (topic "t"): write name=Type pairs'],
  ])('invalid activity property %p is rejected', (properties, message) => {
    const topic = table.entryFor({ topic: 't', tenantId: 'one', processDefinitionKey: 'k' });

    expect(() => resolveRoute(config, topic, { id: 'Pay', properties, headers: {} })).toThrow(RouteError);
    expect(() => resolveRoute(config, topic, { id: 'Pay', properties, headers: {} })).toThrow(message);
  });
});

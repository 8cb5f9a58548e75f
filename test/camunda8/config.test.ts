import { describe, expect, test } from '@jest/globals';

import { parseConfig } from '../../src/config/load.ts';
import { issuesOf } from '../support/config.ts';

function withEngine(engine: string): string {
  return `
engine:
${engine}
topics:
  - topic: charge
`;
}

describe('camunda8 engine configuration', () => {
  test('compiles OAuth, tenants and streaming', () => {
    const config = parseConfig(withEngine(`
  type: camunda8
  baseUrl: https://bru-2.zeebe.camunda.io/abc/
  auth:
    type: oauth
    clientId: router
    clientSecret: \${CLIENT_SECRET}
    tokenUrl: https://login.cloud.camunda.io/oauth/token
  tenantIds: [tenant-a]
  streaming: { grpcAddress: 'grpcs://abc.bru-2.zeebe.camunda.io:443' }`), { env: { CLIENT_SECRET: 'shh' } });

    expect(config.engine).toMatchObject({
      type: 'camunda8',
      baseUrl: 'https://bru-2.zeebe.camunda.io/abc',
      auth: { type: 'oauth', clientId: 'router', clientSecret: 'shh', tokenUrl: 'https://login.cloud.camunda.io/oauth/token', audience: 'zeebe.camunda.io', scope: undefined },
      tenantIds: ['tenant-a'],
      streaming: { grpcAddress: 'grpcs://abc.bru-2.zeebe.camunda.io:443' },
    });
  });

  test('camunda7 stays the default', () => {
    const config = parseConfig(withEngine('  baseUrl: http://127.0.0.1:8080/engine-rest'));

    expect(config.engine.type).toBe('camunda7');
    expect(config.engine.streaming).toBeUndefined();
  });

  test('rejects a REST address ending in /v2', () => {
    const issues = issuesOf(withEngine('  type: camunda8\n  baseUrl: http://127.0.0.1:8080/v2'));

    expect(issues).toEqual([expect.objectContaining({ path: 'engine.baseUrl', expected: expect.stringContaining('without /v2') })]);
  });

  test('rejects streaming for camunda7', () => {
    const issues = issuesOf(withEngine(`
  baseUrl: http://127.0.0.1:8080/engine-rest
  auth: { type: oauth, clientId: a, clientSecret: b, tokenUrl: 'http://127.0.0.1:1/token' }
  streaming: { grpcAddress: 'grpc://127.0.0.1:26500' }`));

    // OAuth client credentials serve Camunda 7 too; test/config/engine-integration-config.test.ts covers them.
    expect(issues.map((issue) => issue.path)).toEqual(['engine.streaming']);
    expect(issues.find((issue) => issue.path === 'engine.streaming')?.expected).toContain('engine.type: camunda8');
  });

  test('rejects a gRPC address without scheme', () => {
    const issues = issuesOf(withEngine("  type: camunda8\n  baseUrl: http://127.0.0.1:8080\n  streaming: { grpcAddress: '127.0.0.1:26500' }"));

    expect(issues).toEqual([expect.objectContaining({ path: 'engine.streaming.grpcAddress', expected: expect.stringContaining('grpc://') })]);
  });

  test('never prints the client secret', () => {
    const issues = issuesOf(withEngine("  type: camunda8\n  baseUrl: http://127.0.0.1:8080\n  auth: { type: oauth, clientId: a, clientSecret: top-secret-value, tokenUrl: nope }"));

    expect(JSON.stringify(issues)).not.toContain('top-secret-value');
  });
});

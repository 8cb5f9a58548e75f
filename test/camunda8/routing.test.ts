import { describe, expect, test } from '@jest/globals';

import { parseConfig } from '../../src/config/load.ts';
import { parseDefinition } from '../../src/definitions/bpmn-extractor.ts';
import { resolveRoute, type HttpRoute } from '../../src/routing/route.ts';
import { zeebeProcess } from '../support/camunda8-bpmn.ts';

const config = parseConfig(`
engine: { type: camunda8, baseUrl: 'http://127.0.0.1:8080' }
services:
  payments: { baseUrl: 'http://127.0.0.1:9000' }
topics:
  - { topic: charge, service: payments, variables: [fromTopic] }
`);
const topic = config.topics[0]!;

function activityOf(headers: Record<string, string>, inputs: Record<string, string>) {
  const model = parseDefinition(zeebeProcess('p', [{ id: 'Charge', type: 'charge', headers, inputs }]));
  return model.activities.get('Charge')!;
}

describe('zeebe:input routing', () => {
  test('input targets name the variables', () => {
    const route = resolveRoute(config, topic, activityOf({}, { orderId: '=order.id', amount: '=order.total' })) as HttpRoute;

    expect(route.variables).toEqual(['orderId', 'amount']);
  });

  test('variables header wins over inputs', () => {
    const route = resolveRoute(config, topic, activityOf({ variables: 'a,b' }, { orderId: '=order.id' })) as HttpRoute;

    expect(route.variables).toEqual(['a', 'b']);
  });

  test('topic variables apply without inputs', () => {
    const route = resolveRoute(config, topic, activityOf({}, {})) as HttpRoute;

    expect(route.variables).toEqual(['fromTopic']);
  });

  test('cached activity carries input targets', () => {
    const route = resolveRoute(config, topic, { id: 'Charge', properties: {}, headers: {}, inputVariables: ['orderId'] }) as HttpRoute;

    expect(route.variables).toEqual(['orderId']);
  });
});

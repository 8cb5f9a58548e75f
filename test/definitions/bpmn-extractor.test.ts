import { readFileSync } from 'node:fs';

import { parseDefinition } from '../../src/definitions/bpmn-extractor.ts';
import type { Activity, DefinitionModel } from '../../src/definitions/model.ts';

const FIXTURES = new URL('../fixtures/bpmn/', import.meta.url);

function parseFixture(name: string): DefinitionModel {
  return parseDefinition(readFileSync(new URL(name, FIXTURES)));
}

function activityOf(model: DefinitionModel, id: string): Activity {
  const activity = model.activities.get(id);
  if (activity === undefined) {
    throw new Error(`activity ${id} missing; present: ${[...model.activities.keys()].join(', ')}`);
  }
  return activity;
}

describe('Camunda 7 extraction', () => {
  const model = parseFixture('camunda7-order.bpmn');

  test('definitions and processes', () => {
    expect(model.targetNamespace).toBe('http://example.com/order');
    expect(model.processes).toEqual([
      { id: 'Process_order', name: 'Order', isExecutable: true, versionTag: '2.3.0' },
      { id: 'Process_draft', name: undefined, isExecutable: false, versionTag: undefined },
    ]);
    expect(model.sourceBytes).toBe(readFileSync(new URL('camunda7-order.bpmn', FIXTURES)).byteLength);
  });

  test('activities in document order', () => {
    expect([...model.activities.keys()]).toEqual([
      'Start',
      'ChargeCard',
      'CardDeclined',
      'NotifyDeclined',
      'Shipping',
      'ShippingStart',
      'Ship',
      'ShippingEnd',
      'LostParcel',
      'LostParcelStart',
      'Refund',
      'Split',
      'Invoice',
      'Survey',
      'AskCustomer',
      'Failed',
      'FailedUnknown',
      'DraftTask',
    ]);
  });

  test('external service task', () => {
    const task = activityOf(model, 'ChargeCard');
    expect(task.type).toBe('serviceTask');
    expect(task.name).toBe('Charge card');
    expect(task.topic).toBe('charge-card');
    expect(task.implementationType).toBe('external');
    expect(task.processId).toBe('Process_order');
    expect(task.parentId).toBeUndefined();
    expect(task.jobType).toBeUndefined();
  });

  test('properties: last repeated name wins, nameless skipped', () => {
    expect({ ...activityOf(model, 'ChargeCard').properties }).toEqual({
      service: 'payments-v2',
      path: '/charges',
      empty: '',
    });
  });

  test('input and output parameters', () => {
    const task = activityOf(model, 'ChargeCard');
    expect(task.inputs).toEqual([
      { name: 'amount', value: '${order.total}' },
      { name: 'currency', value: 'EUR' },
      { name: 'note', value: 'a & b' },
      { name: 'items', value: undefined },
      { name: 'blank', value: '' },
    ]);
    expect(task.outputs).toEqual([{ name: 'chargeId', value: '${chargeId}' }]);
  });

  test('documentation joined by blank line', () => {
    expect(activityOf(model, 'ChargeCard').documentation).toBe(
      "Charges the customer's card.\n\nRetries are the payment service's job.",
    );
    expect(activityOf(model, 'Start').documentation).toBeUndefined();
  });

  test('outgoing flows declared before and after nodes', () => {
    expect(activityOf(model, 'Start').outgoing).toEqual(['ChargeCard']);
    expect(activityOf(model, 'ChargeCard').outgoing).toEqual(['Shipping']);
    expect(activityOf(model, 'CardDeclined').outgoing).toEqual(['NotifyDeclined']);
    expect(activityOf(model, 'Shipping').outgoing).toEqual(['Split']);
  });

  test('flow to unknown node dropped', () => {
    expect(activityOf(model, 'Split').outgoing).toEqual(['Invoice', 'Survey']);
  });

  test('boundary error event', () => {
    const boundary = activityOf(model, 'CardDeclined');
    expect(boundary.type).toBe('boundaryEvent');
    expect(boundary.attachedToRef).toBe('ChargeCard');
    expect(boundary.errorCode).toBe('CARD_DECLINED');
  });

  test('error declared after use resolves', () => {
    expect(activityOf(model, 'Failed').errorCode).toBe('CARD_DECLINED');
    expect(activityOf(model, 'LostParcelStart').errorCode).toBe('PARCEL_LOST');
    expect(activityOf(model, 'FailedUnknown').errorCode).toBeUndefined();
  });

  test('message event topic from event definition', () => {
    const event = activityOf(model, 'NotifyDeclined');
    expect(event.type).toBe('intermediateThrowEvent');
    expect(event.topic).toBe('notify-declined');
    expect(event.implementationType).toBe('external');
    expect({ ...event.properties }).toEqual({ service: 'mailer' });
  });

  test('sub-process nesting', () => {
    expect(activityOf(model, 'Ship').parentId).toBe('Shipping');
    expect(activityOf(model, 'Ship').processId).toBe('Process_order');
    expect(activityOf(model, 'Ship').outgoing).toEqual(['ShippingEnd']);
    expect(activityOf(model, 'LostParcel').parentId).toBe('Shipping');
    expect(activityOf(model, 'LostParcel').type).toBe('subProcess');
    expect(activityOf(model, 'Refund').parentId).toBe('LostParcel');
    expect(activityOf(model, 'Refund').topic).toBe('refund');
    expect(activityOf(model, 'AskCustomer').parentId).toBe('Survey');
    expect(activityOf(model, 'Survey').type).toBe('transaction');
  });

  test('call activity', () => {
    expect(activityOf(model, 'Invoice').calledElement).toBe('invoice-process');
  });

  test('duplicate id keeps first', () => {
    expect(activityOf(model, 'ChargeCard').name).toBe('Charge card');
    expect(activityOf(model, 'ChargeCard').topic).toBe('charge-card');
  });

  test('second process', () => {
    expect(activityOf(model, 'DraftTask').processId).toBe('Process_draft');
  });

  test('model is frozen', () => {
    const task = activityOf(model, 'ChargeCard');
    expect(Object.isFrozen(task)).toBe(true);
    expect(Object.isFrozen(task.properties)).toBe(true);
    expect(Object.isFrozen(task.outgoing)).toBe(true);
    expect(Object.isFrozen(model.processes)).toBe(true);
  });
});

describe('Zeebe extraction', () => {
  const model = parseFixture('zeebe-loan.bpmn');

  test('job type, headers, properties', () => {
    const task = activityOf(model, 'Score');
    expect(task.jobType).toBe('credit-score');
    expect(task.topic).toBeUndefined();
    expect({ ...task.headers }).toEqual({ service: 'scoring', method: 'POST' });
    expect({ ...task.properties }).toEqual({ path: '/score' });
  });

  test('io mapping', () => {
    const task = activityOf(model, 'Score');
    expect(task.inputs).toEqual([
      { name: 'applicantId', value: '=applicant.id' },
      { name: 'withoutSource', value: '' },
    ]);
    expect(task.outputs).toEqual([{ name: 'creditScore', value: '=score' }]);
  });

  test('called element from extension', () => {
    expect(activityOf(model, 'Contract').calledElement).toBe('contract-process');
  });

  test('message end event job type', () => {
    expect(activityOf(model, 'Done').jobType).toBe('notify-done');
  });

  test('error code and flows', () => {
    expect(activityOf(model, 'Rejected').errorCode).toBe('REJECTED');
    expect(activityOf(model, 'Rejected').attachedToRef).toBe('Score');
    expect(activityOf(model, 'Applied').outgoing).toEqual(['Score']);
    expect(activityOf(model, 'Contract').outgoing).toEqual(['Done']);
  });
});

describe('namespace resolution', () => {
  const model = parseFixture('namespace-prefixes.bpmn');

  test('BPMN by any prefix or default namespace', () => {
    expect([...model.activities.keys()]).toEqual(['DefaultNs', 'Operaton', 'CamundaOnly', 'ActivitiPrefix']);
    expect(activityOf(model, 'DefaultNs').outgoing).toEqual(['Operaton']);
  });

  test('prefixed reference resolves', () => {
    expect(activityOf(model, 'Operaton').outgoing).toEqual(['CamundaOnly']);
  });

  test('Operaton attributes win over Camunda', () => {
    const task = activityOf(model, 'Operaton');
    expect(task.topic).toBe('from-operaton');
    expect(task.implementationType).toBe('external');
    expect(model.processes[0]?.versionTag).toBe('7');
    expect(model.processes[0]?.isExecutable).toBe(true);
  });

  test('Operaton elements replace Camunda ones', () => {
    const task = activityOf(model, 'Operaton');
    expect({ ...task.properties }).toEqual({ service: 'operaton-service' });
    expect(task.inputs).toEqual([{ name: 'fromOperaton', value: '${a}' }]);
  });

  test('Camunda namespace under other prefix', () => {
    const task = activityOf(model, 'CamundaOnly');
    expect(task.topic).toBe('from-camunda');
    expect({ ...task.properties }).toEqual({ path: '/camunda-path' });
  });

  test('camunda prefix on Activiti namespace ignored', () => {
    const task = activityOf(model, 'ActivitiPrefix');
    expect(task.topic).toBeUndefined();
    expect(task.implementationType).toBeUndefined();
  });

  test('bpmn prefix on foreign namespace ignored', () => {
    expect(model.activities.has('ForeignTask')).toBe(false);
  });

  test.each(['semantic', 'bpmn2', 'model'])('%s prefix with operaton prefix on Camunda namespace', (prefix) => {
    const xml = `<${prefix}:definitions xmlns:${prefix}="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:operaton="http://camunda.org/schema/1.0/bpmn" targetNamespace="x">
  <${prefix}:process id="p"><${prefix}:serviceTask id="t" operaton:topic="charge"><${prefix}:extensionElements>
    <operaton:properties><operaton:property name="service" value="payments" /></operaton:properties>
  </${prefix}:extensionElements></${prefix}:serviceTask></${prefix}:process>
</${prefix}:definitions>`;
    const task = parseDefinition(xml).activities.get('t');

    expect(task?.topic).toBe('charge');
    expect({ ...task?.properties }).toEqual({ service: 'payments' });
  });
});

describe('input forms', () => {
  const xml = readFileSync(new URL('zeebe-loan.bpmn', FIXTURES), 'utf8');

  test('string and bytes give same model', () => {
    const fromString = parseDefinition(xml);
    const fromBytes = parseDefinition(new TextEncoder().encode(xml));
    expect([...fromString.activities.values()]).toEqual([...fromBytes.activities.values()]);
    expect(fromString.sourceBytes).toBe(fromBytes.sourceBytes);
  });

  test('string input ignores declared encoding', () => {
    const model = parseDefinition(xml.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"'));
    expect(model.activities.size).toBe(5);
  });

  test('sourceBytes counts UTF-8 bytes of a string', () => {
    const withUmlaut = xml.replace('Score applicant', 'Bonität prüfen');
    expect(parseDefinition(withUmlaut).sourceBytes).toBe(Buffer.byteLength(withUmlaut, 'utf8'));
  });

  test('empty definitions', () => {
    const model = parseDefinition(
      '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="x"></definitions>',
    );
    expect(model.processes).toEqual([]);
    expect(model.activities.size).toBe(0);
  });

  test('invalid limit raises TypeError', () => {
    expect(() => parseDefinition(xml, { maxDepth: 0 })).toThrow(TypeError);
    expect(() => parseDefinition(xml, { maxBytes: 1.5 })).toThrow('parse limit maxBytes must be a positive integer, received 1.5');
  });
});

import { parseDefinition } from '../../src/definitions/bpmn-extractor.ts';
import { decodeModel, encodeModel } from '../../src/definitions/model-codec.ts';
import { SHARED_MAX_ENTRIES, SHARED_MAX_LENGTH, StringPool } from '../../src/definitions/string-pool.ts';

function definitionWithProperties(properties: Record<string, string>): string {
  const entries = Object.entries(properties)
    .map(([name, value]) => `<camunda:property name="${name}" value="${value}" />`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://example.com/memory">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:serviceTask id="charge_credit_card_task" camunda:type="external" camunda:topic="payments-charge-card">
      <bpmn:extensionElements><camunda:properties>${entries}</camunda:properties></bpmn:extensionElements>
    </bpmn:serviceTask>
  </bpmn:process>
</bpmn:definitions>`;
}

describe('property records', () => {
  test('keys named like Object members stay plain entries', () => {
    const properties = parseDefinition(definitionWithProperties({ __proto__x: 'a', constructor: 'b', toString: 'c' })).activities.get('charge_credit_card_task')?.properties;
    expect(properties).toEqual({ __proto__x: 'a', constructor: 'b', toString: 'c' });
    expect(Object.getPrototypeOf(properties)).toBeNull();
    expect(Object.isFrozen(properties)).toBe(true);
  });

  test('a __proto__ property is an own entry', () => {
    const properties = parseDefinition(definitionWithProperties({ service: 'billing', ['__proto__']: 'polluted' })).activities.get('charge_credit_card_task')?.properties;
    expect(Object.hasOwn(properties ?? {}, '__proto__')).toBe(true);
    expect(properties?.['__proto__']).toBe('polluted');
    expect(properties?.service).toBe('billing');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('decoded records match parsed ones', () => {
    const model = parseDefinition(definitionWithProperties({ service: 'billing', ['__proto__']: 'polluted' }));
    const decoded = decodeModel(encodeModel(model)).activities.get('charge_credit_card_task')?.properties;
    expect(decoded).toEqual(model.activities.get('charge_credit_card_task')?.properties);
    expect(Object.getPrototypeOf(decoded)).toBeNull();
    expect(Object.hasOwn(decoded ?? {}, '__proto__')).toBe(true);
  });
});

describe('string pool', () => {
  test('same values across documents', () => {
    const first = parseDefinition(definitionWithProperties({ service: 'billing-service-eu-west' }));
    const second = parseDefinition(definitionWithProperties({ service: 'billing-service-eu-west' }));
    const firstTask = first.activities.get('charge_credit_card_task');
    const secondTask = second.activities.get('charge_credit_card_task');
    // String identity is not observable in JavaScript; bench/definitions.ts measures the memory saved.
    expect(firstTask?.topic).toBe(secondTask?.topic);
    expect(firstTask?.properties.service).toBe('billing-service-eu-west');
  });

  test('copies long strings', () => {
    const long = 'x'.repeat(SHARED_MAX_LENGTH + 1);
    expect(new StringPool().intern(long)).toBe(long);
  });

  test('keeps working past the shared bound', () => {
    const pool = new StringPool();
    for (let index = 0; index <= SHARED_MAX_ENTRIES + 10; index += 1) {
      expect(pool.intern(`value-number-${index}`)).toBe(`value-number-${index}`);
    }
  });
});

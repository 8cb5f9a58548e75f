import { formatEngineDate } from '../../src/engine/camunda7/dates.ts';
import { fromRestVariables, toRestVariables, type FetchedType } from '../../src/engine/camunda7/variables.ts';
import { parseJson, stringifyJson } from '../../src/lossless-json.ts';
import { parseDeclaredType, TypedVariable, withDeclaredTypes } from '../../src/engine/typed-variable.ts';
import { VariableTypeError } from '../../src/errors.ts';

function fetched(type: string, valueInfo: Record<string, unknown> = {}): Map<string, FetchedType> {
  return new Map([['v', { type, valueInfo }]]);
}

describe('lossless JSON', () => {
  test('integers past 2^53 stay exact', () => {
    const parsed = parseJson('{"id":9007199254740993,"nested":[12345678901234567890123],"small":5,"real":1.5}') as Record<string, unknown>;

    expect(parsed.id).toBe(9_007_199_254_740_993n);
    expect(parsed.nested).toEqual([12_345_678_901_234_567_890_123n]);
    expect(parsed.small).toBe(5);
    expect(parsed.real).toBe(1.5);
  });

  test('bigints serialize as their digits', () => {
    expect(stringifyJson({ id: 9_007_199_254_740_993n, at: new Date(0) })).toBe('{"id":9007199254740993,"at":"1970-01-01T00:00:00.000Z"}');
  });
});

describe('engine dates', () => {
  test.each([
    ['2026-01-31T09:30:00.000+01:00', '2026-01-31T09:30:00.000+0100'],
    ['2026-01-31T09:30:00Z', '2026-01-31T09:30:00.000+0000'],
    ['2026-01-31T09:30Z', '2026-01-31T09:30:00.000+0000'],
    ['2026-01-31T09:30:00.123456-0530', '2026-01-31T09:30:00.123-0530'],
    ['2026-01-31T09:30:00,5+02', '2026-01-31T09:30:00.500+0200'],
  ])('%s becomes %s', (input, expected) => {
    expect(formatEngineDate(input)).toBe(expected);
  });

  test.each(['2026-01-31T09:30:00', '2026-02-30T00:00:00Z', '2026-01-31', 'tomorrow', '2026-01-31T09:30:00+19:00'])('%s is rejected', (input) => {
    expect(formatEngineDate(input)).toBeUndefined();
  });

  test('a Date is written in UTC', () => {
    expect(formatEngineDate(new Date('2026-01-31T08:30:00.000Z'))).toBe('2026-01-31T08:30:00.000+0000');
  });
});

describe('reading engine variables', () => {
  test('each type becomes JSON', () => {
    const read = fromRestVariables({
      text: { type: 'String', value: 'A-1' },
      big: { type: 'Long', value: 9_007_199_254_740_993n },
      due: { type: 'Date', value: '2026-01-31T09:30:00.000+0100' },
      order: { type: 'Json', value: '{"id":9007199254740993}' },
      bean: { type: 'Object', value: '{"a":1}', valueInfo: { objectTypeName: 'java.util.HashMap', serializationDataFormat: 'application/json' } },
      legacy: { type: 'Object', value: 'rO0AB', valueInfo: { objectTypeName: 'com.example.Legacy', serializationDataFormat: 'application/x-java-serialized-object' } },
      doc: { type: 'Xml', value: '<a/>' },
      raw: { type: 'Bytes', value: 'aGk=' },
      file: { type: 'File', value: null, valueInfo: { filename: 'a.txt', mimeType: 'text/plain', encoding: 'UTF-8' } },
      nothing: { type: 'Null', value: null },
    });

    expect(read.variables).toEqual({
      text: 'A-1',
      big: 9_007_199_254_740_993n,
      due: new Date('2026-01-31T08:30:00.000Z'),
      order: { id: 9_007_199_254_740_993n },
      bean: { a: 1 },
      legacy: 'rO0AB',
      doc: '<a/>',
      raw: 'aGk=',
      file: { filename: 'a.txt', mimeType: 'text/plain', encoding: 'UTF-8', content: null },
      nothing: null,
    });
    expect(read.files).toEqual(['file']);
    expect(read.types.get('bean')).toEqual({ type: 'Object', valueInfo: { objectTypeName: 'java.util.HashMap', serializationDataFormat: 'application/json' } });
  });

  test('invalid Json text names the variable', () => {
    expect(() => fromRestVariables({ order: { type: 'Json', value: '{broken' } })).toThrow(VariableTypeError);
    expect(() => fromRestVariables({ order: { type: 'Json', value: '{broken' } })).toThrow(/variable "order" contains text that is not valid JSON/);
  });
});

describe('writing engine variables', () => {
  test('plain values get inferred types', () => {
    const typed = toRestVariables({
      text: 'x',
      flag: true,
      count: 3,
      large: 2 ** 40,
      exact: 9_007_199_254_740_993n,
      price: 2.5,
      nothing: null,
      missing: undefined,
      due: new Date('2026-01-31T08:30:00.000Z'),
      bytes: new Uint8Array([104, 105]),
      order: { items: [1] },
    }, undefined);

    expect(typed).toEqual({
      text: { type: 'String', value: 'x' },
      flag: { type: 'Boolean', value: true },
      count: { type: 'Integer', value: 3 },
      large: { type: 'Long', value: 2 ** 40 },
      exact: { type: 'Long', value: 9_007_199_254_740_993n },
      price: { type: 'Double', value: 2.5 },
      nothing: { type: 'Null', value: null },
      missing: { type: 'Null', value: null },
      due: { type: 'Date', value: '2026-01-31T08:30:00.000+0000' },
      bytes: { type: 'Bytes', value: 'aGk=' },
      order: { type: 'Json', value: '{"items":[1]}', valueInfo: {} },
    });
  });

  test.each([
    ['Short', 7, { type: 'Short', value: 7 }],
    ['Long', 5, { type: 'Long', value: 5 }],
    ['Double', 2, { type: 'Double', value: 2 }],
    ['Date', '2026-01-31T09:30:00+01:00', { type: 'Date', value: '2026-01-31T09:30:00.000+0100' }],
    ['Xml', '<b/>', { type: 'Xml', value: '<b/>' }],
    ['Bytes', 'aGk=', { type: 'Bytes', value: 'aGk=' }],
    ['String', 'text', { type: 'String', value: 'text' }],
  ])('a fetched %s keeps its type', (type, value, expected) => {
    expect(toRestVariables({ v: value }, fetched(type)).v).toEqual(expected);
  });

  test('a fetched Object keeps its class', () => {
    const typed = toRestVariables({ v: { a: 2 } }, fetched('Object', { objectTypeName: 'java.util.HashMap', serializationDataFormat: 'application/json' }));

    expect(typed.v).toEqual({ type: 'Object', value: '{"a":2}', valueInfo: { objectTypeName: 'java.util.HashMap', serializationDataFormat: 'application/json' } });
  });

  test('a fetched File takes back its shape', () => {
    const typed = toRestVariables({ v: { filename: 'b.txt', mimeType: 'text/plain', encoding: 'UTF-8', content: 'aGk=' } }, fetched('File'));

    expect(typed.v).toEqual({ type: 'File', value: 'aGk=', valueInfo: { filename: 'b.txt', mimeType: 'text/plain', encoding: 'UTF-8' } });
  });

  test('misfit of a fetched type is inferred', () => {
    expect(toRestVariables({ v: 'not a date' }, fetched('Date')).v).toEqual({ type: 'String', value: 'not a date' });
    expect(toRestVariables({ v: 3_000_000_000 }, fetched('Integer')).v).toEqual({ type: 'Long', value: 3_000_000_000 });
    expect(toRestVariables({ v: 'done' }, fetched('Null')).v).toEqual({ type: 'String', value: 'done' });
  });

  test('declared types win and are checked', () => {
    const variables = withDeclaredTypes(
      { due: '2026-01-31T09:30:00Z', order: [1, 2], label: 'x' },
      new Map([['due', parseDeclaredType('Date')!], ['order', parseDeclaredType('Object:java.util.ArrayList')!]]),
    );

    expect(variables.due).toBeInstanceOf(TypedVariable);
    expect(JSON.stringify(variables)).toBe('{"due":"2026-01-31T09:30:00Z","order":[1,2],"label":"x"}');
    expect(toRestVariables(variables, fetched('String'))).toEqual({
      due: { type: 'Date', value: '2026-01-31T09:30:00.000+0000' },
      order: { type: 'Object', value: '[1,2]', valueInfo: { objectTypeName: 'java.util.ArrayList', serializationDataFormat: 'application/json' } },
      label: { type: 'String', value: 'x' },
    });
  });

  test('misfit of a declared type is rejected', () => {
    const variables = withDeclaredTypes({ due: 'next week' }, new Map([['due', parseDeclaredType('date')!]]));

    expect(() => toRestVariables(variables, undefined)).toThrow(VariableTypeError);
    expect(() => toRestVariables(variables, undefined)).toThrow(/variable "due" is declared Date but the value "next week" does not fit it; send an ISO-8601 date-time with an offset/);
  });

  test.each([
    [Number.NaN, /is NaN, which JSON cannot carry/],
    [2n ** 64n, /outside the 64-bit range of a Long/],
    [() => 1, /is a function, which has no engine type/],
  ])('%p is rejected', (value, message) => {
    expect(() => toRestVariables({ v: value }, undefined)).toThrow(message);
  });
});

describe('declared type names', () => {
  test.each([
    ['date', { type: 'Date', objectTypeName: undefined }],
    ['Object', { type: 'Object', objectTypeName: undefined }],
    ['object:com.example.Order', { type: 'Object', objectTypeName: 'com.example.Order' }],
  ])('%s parses', (text, expected) => {
    expect(parseDeclaredType(text)).toEqual(expected);
  });

  test.each(['Timestamp', 'Date:java.util.Date', 'Object:not a class', ''])('%p is rejected', (text) => {
    expect(parseDeclaredType(text)).toBeUndefined();
  });
});

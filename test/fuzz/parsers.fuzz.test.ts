/**
 * Property-based fuzzing of the two parsers that read untrusted or
 * hand-written text: the BPMN extractor and the configuration loader. Each
 * property runs for a bounded time (FUZZ_TIME_MS, 2 s by default) or
 * FUZZ_RUNS runs, whichever ends first; a failure prints the seed and path
 * that replay it. The only allowed outcomes are a result or the parser's own
 * typed error.
 */
import { readFileSync } from 'node:fs';

import fc from 'fast-check';
import { stringify } from 'yaml';

import { parseConfig } from '../../src/config/load.ts';
import { parseDefinition } from '../../src/definitions/bpmn-extractor.ts';
import { BpmnParseError, ConfigError } from '../../src/errors.ts';

const TIME_MS = Number(process.env.FUZZ_TIME_MS ?? 2_000);
const RUNS = Number(process.env.FUZZ_RUNS ?? 100_000);
const settings = { numRuns: RUNS, plugins: [fc.interruptAfterTimeLimit(TIME_MS)] };

const VALID_BPMN = readFileSync(new URL('../../config/examples/order-process.bpmn', import.meta.url), 'utf8');
const XML_PIECES = ['<', '>', '/>', '</', '&', '&amp;', '&#', ';', '"', "'", '=', ':', '<!DOCTYPE x [<!ENTITY e "x">]>', '<![CDATA[', ']]>', '<?xml version="1.0"?>', '<!--', '-->', 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"', '\u0000', '\uFFFE', '\uD800', 'é'];

/** Runs the extractor and rethrows anything other than a BpmnParseError, so the property fails on it. */
function extractOrReject(input: string | Uint8Array): void {
  try {
    parseDefinition(input, { maxBytes: 1 << 20, maxDepth: 64, maxElements: 10_000 });
  } catch (error) {
    if (!(error instanceof BpmnParseError)) {
      throw error;
    }
  }
}

function loadOrReject(text: string): void {
  try {
    parseConfig(text, { env: { TOKEN: 'secret' } });
  } catch (error) {
    if (!(error instanceof ConfigError)) {
      throw error;
    }
  }
}

/** Edits at random positions of a text: insertions of XML-significant pieces, deletions and replacements. */
const edits = fc.array(fc.record({
  at: fc.nat(),
  remove: fc.nat({ max: 8 }),
  insert: fc.oneof(fc.constantFrom(...XML_PIECES), fc.string({ maxLength: 8, unit: 'binary' })),
}), { minLength: 1, maxLength: 8 });

function applyEdits(text: string, list: readonly { at: number; remove: number; insert: string }[]): string {
  let result = text;
  for (const edit of list) {
    const at = edit.at % (result.length + 1);
    result = result.slice(0, at) + edit.insert + result.slice(at + edit.remove);
  }
  return result;
}

describe('fuzzed BPMN extractor', () => {
  test('random bytes give a model or a parse error', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2_048 }), (bytes) => extractOrReject(bytes)), settings);
  });

  test('random text gives a model or a parse error', () => {
    fc.assert(fc.property(fc.string({ maxLength: 2_048, unit: 'binary' }), (text) => extractOrReject(text)), settings);
  });

  test('edited valid model gives a model or a parse error', () => {
    fc.assert(fc.property(edits, (list) => extractOrReject(applyEdits(VALID_BPMN, list))), settings);
  });

  test('edited model bytes give a model or a parse error', () => {
    const bytes = Buffer.from(VALID_BPMN);
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 16 }), (flips) => {
      const copy = Uint8Array.from(bytes);
      for (const [at, value] of flips) {
        copy[at % copy.length] = value;
      }
      extractOrReject(copy);
    }), settings);
  });

  test('generated property values round-trip', () => {
    const value = fc.string({ maxLength: 64 }).filter((text) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/.test(text));
    fc.assert(fc.property(value, (text) => {
      const escaped = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
      const xml = `<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" targetNamespace="t"><bpmn:process id="p"><bpmn:serviceTask id="Fuzz" camunda:topic="t"><bpmn:extensionElements><camunda:properties><camunda:property name="path" value="${escaped}" /></camunda:properties></bpmn:extensionElements></bpmn:serviceTask></bpmn:process></bpmn:definitions>`;
      expect(parseDefinition(xml).activities.get('Fuzz')?.properties.path).toBe(text);
    }), settings);
  });
});

const VALID_CONFIG = {
  engine: { baseUrl: 'http://127.0.0.1:8080/engine-rest', maxTasks: 10, lockDuration: '30s' },
  services: { inventory: { baseUrl: 'http://127.0.0.1:9000', timeout: '5s', auth: { type: 'bearer', token: '${TOKEN}' } } },
  topics: [{ topic: 'reserve', service: 'inventory', path: '/reserve', errors: { 409: 'OUT_OF_STOCK' } }],
};

describe('fuzzed configuration loader', () => {
  test('random text gives a config or a config error', () => {
    fc.assert(fc.property(fc.string({ maxLength: 1_024, unit: 'binary' }), (text) => loadOrReject(text)), settings);
  });

  test('edited valid file gives a config or a config error', () => {
    const text = stringify(VALID_CONFIG);
    fc.assert(fc.property(edits, (list) => loadOrReject(applyEdits(text, list))), settings);
  });

  test('any value at any key gives a config or a config error', () => {
    const keyPaths = [['engine'], ['engine', 'maxTasks'], ['engine', 'lockDuration'], ['engine', 'baseUrl'], ['services'], ['services', 'inventory'], ['services', 'inventory', 'auth'], ['services', 'inventory', 'timeout'], ['topics'], ['topics', '0'], ['topics', '0', 'path'], ['topics', '0', 'errors'], ['cache'], ['telemetry'], ['unknown']];
    fc.assert(fc.property(fc.constantFrom(...keyPaths), fc.jsonValue({ maxDepth: 3 }), (keyPath, value) => {
      const copy = structuredClone(VALID_CONFIG) as Record<string, unknown>;
      let target = copy;
      for (const key of keyPath.slice(0, -1)) {
        target = target[key] as Record<string, unknown>;
      }
      target[keyPath.at(-1) as string] = value;
      loadOrReject(stringify(copy));
    }), settings);
  });
});

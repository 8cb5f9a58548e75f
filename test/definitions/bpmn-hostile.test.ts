import { readFileSync } from 'node:fs';

import { parseDefinition } from '../../src/definitions/bpmn-extractor.ts';
import type { DefinitionModel, ParseLimits } from '../../src/definitions/model.ts';
import { BpmnParseError, type BpmnParseErrorCode } from '../../src/errors.ts';

const FIXTURES = new URL('../fixtures/bpmn/', import.meta.url);

const HEAD =
  '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="http://example.com/limits">';
const TAIL = '</bpmn:definitions>';

function fixture(name: string): Uint8Array {
  return readFileSync(new URL(name, FIXTURES));
}

/** Returns the BpmnParseError that parsing raises, failing the test when it raises none or another kind. */
function rejectionOf(xml: string | Uint8Array, limits?: Partial<ParseLimits>): BpmnParseError {
  let model: DefinitionModel;
  try {
    model = parseDefinition(xml, limits);
  } catch (error) {
    if (error instanceof BpmnParseError) {
      return error;
    }
    throw error;
  }
  throw new Error(`expected a BpmnParseError, got a model with ${model.activities.size} activities`);
}

function expectCode(error: BpmnParseError, code: BpmnParseErrorCode): void {
  expect(`${error.code}: ${error.message}`).toMatch(new RegExp(`^${code}: `));
}

describe('entity attacks', () => {
  test('billion laughs rejected', () => {
    const error = rejectionOf(fixture('billion-laughs.bpmn'));
    expectCode(error, 'ERR_BPMN_DOCTYPE');
    expect(error.message).toContain('<!DOCTYPE bpmn:definitions');
    expect(error.message).toContain('Remove the DOCTYPE');
    expect(error.line).toBe(13);
  });

  test('external entity to /etc/passwd rejected', () => {
    const error = rejectionOf(fixture('xxe-passwd.bpmn'));
    expectCode(error, 'ERR_BPMN_DOCTYPE');
    expect(error.message).not.toContain('root:');
  });

  test('parameter entity rejected', () => {
    expectCode(rejectionOf(fixture('parameter-entity.bpmn')), 'ERR_BPMN_DOCTYPE');
  });

  test('DOCTYPE without internal subset rejected', () => {
    const xml = `<?xml version="1.0"?>\n<!DOCTYPE definitions SYSTEM "http://127.0.0.1:9/bpmn.dtd">\n${HEAD}${TAIL}`;
    expectCode(rejectionOf(xml), 'ERR_BPMN_DOCTYPE');
  });

  test('DOCTYPE in UTF-16 rejected', () => {
    const text = readFileSync(new URL('billion-laughs.bpmn', FIXTURES), 'utf8');
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text.replace('UTF-8', 'UTF-16'), 'utf16le')]);
    expectCode(rejectionOf(bytes), 'ERR_BPMN_DOCTYPE');
  });

  test('entity reference without DTD is malformed', () => {
    const error = rejectionOf(`${HEAD}<bpmn:process id="p" name="&xxe;" />${TAIL}`);
    expectCode(error, 'ERR_BPMN_MALFORMED');
    expect(error.message).toContain('undefined entity');
  });

  test('predefined and character references expand', () => {
    const model = parseDefinition(`${HEAD}<bpmn:process id="p"><bpmn:task id="t" name="&lt;a&gt; &amp; &#x263A; &#65;" /></bpmn:process>${TAIL}`);
    expect(model.activities.get('t')?.name).toBe('<a> & \u263a A');
  });
});

describe('not well-formed', () => {
  test('truncated file', () => {
    const error = rejectionOf(fixture('truncated.bpmn'));
    expectCode(error, 'ERR_BPMN_MALFORMED');
    expect(error.line).toBe(9);
    expect(error.column).toBeGreaterThan(0);
    expect(error.message).toContain('line 9');
  });

  test('mismatched close tag', () => {
    const error = rejectionOf(`${HEAD}\n<bpmn:process id="p">\n</bpmn:task>\n${TAIL}`);
    expectCode(error, 'ERR_BPMN_MALFORMED');
    expect(error.line).toBe(3);
  });

  test('unbound prefix', () => {
    const error = rejectionOf(`${HEAD}<camunda:properties />${TAIL}`);
    expectCode(error, 'ERR_BPMN_MALFORMED');
    expect(error.message).toContain('unbound namespace prefix');
  });

  test('empty input', () => {
    expectCode(rejectionOf(''), 'ERR_BPMN_MALFORMED');
    expectCode(rejectionOf(new Uint8Array(0)), 'ERR_BPMN_MALFORMED');
  });

  test('plain text', () => {
    expectCode(rejectionOf('this is not XML'), 'ERR_BPMN_MALFORMED');
  });

  test('malformed beats wrong root', () => {
    const error = rejectionOf('<root><child></root>');
    expectCode(error, 'ERR_BPMN_MALFORMED');
  });
});

describe('not BPMN', () => {
  test('BPMN beta namespace root', () => {
    const error = rejectionOf(fixture('not-bpmn-root.bpmn'));
    expectCode(error, 'ERR_BPMN_NOT_BPMN');
    expect(error.message).toContain('http://www.omg.org/bpmn20');
    expect(error.message).toContain('http://www.omg.org/spec/BPMN/20100524/MODEL');
    expect(error.line).toBe(2);
  });

  test('definitions without namespace', () => {
    const error = rejectionOf('<definitions targetNamespace="x"><process id="p" /></definitions>');
    expectCode(error, 'ERR_BPMN_NOT_BPMN');
    expect(error.message).toContain('no namespace');
  });

  test('BPMN element other than definitions', () => {
    const error = rejectionOf('<process xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="p" />');
    expectCode(error, 'ERR_BPMN_NOT_BPMN');
    expect(error.message).toContain('<process>');
  });
});

describe('limits', () => {
  function nested(depth: number): string {
    return `${HEAD}${'<bpmn:documentation>'.repeat(depth - 1)}${'</bpmn:documentation>'.repeat(depth - 1)}${TAIL}`;
  }

  test('nesting at limit accepted', () => {
    expect(parseDefinition(nested(256)).activities.size).toBe(0);
  });

  test('nesting past default limit rejected', () => {
    const error = rejectionOf(nested(257));
    expectCode(error, 'ERR_BPMN_LIMIT');
    expect(error.message).toContain('maxDepth');
    expect(error.message).toContain('257');
  });

  test('deep nesting bomb stops early', () => {
    const error = rejectionOf(`${HEAD}${'<a>'.repeat(100_000)}`);
    expectCode(error, 'ERR_BPMN_LIMIT');
  });

  test('custom depth limit', () => {
    expectCode(rejectionOf(nested(5), { maxDepth: 4 }), 'ERR_BPMN_LIMIT');
    expect(parseDefinition(nested(5), { maxDepth: 5 }).activities.size).toBe(0);
  });

  test('element count limit', () => {
    const tasks = (count: number): string =>
      `${HEAD}<bpmn:process id="p">${Array.from({ length: count }, (_, index) => `<bpmn:task id="t${index}" />`).join('')}</bpmn:process>${TAIL}`;
    // The elements are definitions, process and the tasks.
    expect(parseDefinition(tasks(8), { maxElements: 10 }).activities.size).toBe(8);
    const error = rejectionOf(tasks(9), { maxElements: 10 });
    expectCode(error, 'ERR_BPMN_LIMIT');
    expect(error.message).toContain('maxElements');
  });

  test('over-size string rejected before parsing', () => {
    const xml = `${HEAD}<!--${'x'.repeat(2048)}-->${TAIL}`;
    const error = rejectionOf(xml, { maxBytes: 1024 });
    expectCode(error, 'ERR_BPMN_LIMIT');
    expect(error.message).toContain(`${Buffer.byteLength(xml)} bytes`);
    expect(error.message).toContain('maxBytes');
  });

  test('over-size bytes rejected', () => {
    const bytes = new Uint8Array(17 * 1024 * 1024);
    expectCode(rejectionOf(bytes), 'ERR_BPMN_LIMIT');
  });

  test('huge attribute value within the cap parses', () => {
    const value = 'v'.repeat(8 * 1024 * 1024);
    const xml = `${HEAD.replace('targetNamespace', 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" targetNamespace')}<bpmn:process id="p"><bpmn:serviceTask id="Big" camunda:topic="t"><bpmn:extensionElements><camunda:properties><camunda:property name="path" value="${value}" /></camunda:properties></bpmn:extensionElements></bpmn:serviceTask></bpmn:process>${TAIL}`;
    const activity = parseDefinition(xml).activities.get('Big');

    expect(activity?.properties.path).toHaveLength(value.length);
  });

  test('huge attribute value past the cap rejected', () => {
    const xml = `${HEAD}<bpmn:process id="p" name="${'n'.repeat(2048)}" />${TAIL}`;
    const error = rejectionOf(xml, { maxBytes: 1024 });
    expectCode(error, 'ERR_BPMN_LIMIT');
    expect(error.message).toContain('maxBytes');
  });

  test('multi-byte characters count as bytes', () => {
    const xml = `${HEAD}<!--${'\u00fc'.repeat(600)}-->${TAIL}`;
    expect(xml.length).toBeLessThan(1024);
    expectCode(rejectionOf(xml, { maxBytes: 1024 }), 'ERR_BPMN_LIMIT');
  });
});

describe('encodings', () => {
  test('UTF-16 LE with byte order mark', () => {
    const model = parseDefinition(fixture('utf16le-bom.bpmn'));
    const task = model.activities.get('Task_enc');
    expect(task?.name).toBe('Rechnung pr\u00fcfen \u691c\u67fb');
    expect(task?.topic).toBe('pr\u00fcfen');
    expect(task?.documentation).toBe('Gr\u00fc\u00dfe \u{1F600}');
    expect(model.sourceBytes).toBe(fixture('utf16le-bom.bpmn').byteLength);
  });

  test('UTF-16 BE with byte order mark', () => {
    const littleEndian = fixture('utf16le-bom.bpmn');
    const bigEndian = Buffer.from(littleEndian);
    bigEndian.swap16();
    expect(parseDefinition(bigEndian).activities.get('Task_enc')?.name).toBe('Rechnung pr\u00fcfen \u691c\u67fb');
  });

  test('UTF-16 without byte order mark', () => {
    const withoutMark = fixture('utf16le-bom.bpmn').subarray(2);
    expect(parseDefinition(withoutMark).activities.get('Task_enc')?.topic).toBe('pr\u00fcfen');
  });

  test('UTF-8 with byte order mark', () => {
    const text = readFileSync(new URL('zeebe-loan.bpmn', FIXTURES));
    const model = parseDefinition(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text]));
    expect(model.activities.get('Score')?.jobType).toBe('credit-score');
  });

  test('ISO-8859-1 declared', () => {
    const task = parseDefinition(fixture('iso-8859-1.bpmn')).activities.get('Task_enc');
    expect(task?.name).toBe('Rechnung pr\u00fcfen');
    expect(task?.topic).toBe('pr\u00fcfen');
    // Byte 0x93 is U+0093 in ISO-8859-1; windows-1252 would read it as U+201C.
    expect(task?.documentation).toBe('Gr\u00fc\u00dfe \u00a9 \u0093');
  });

  test('windows-1252 declared', () => {
    const bytes = Buffer.from(fixture('iso-8859-1.bpmn'));
    const declared = Buffer.from(bytes.toString('latin1').replace('ISO-8859-1', 'windows-1252'), 'latin1');
    const task = parseDefinition(declared).activities.get('Task_enc');
    expect(task?.documentation).toBe('Gr\u00fc\u00dfe \u00a9 \u201c');
  });

  test('invalid UTF-8 rejected with position', () => {
    const error = rejectionOf(fixture('invalid-utf8.bpmn'));
    expectCode(error, 'ERR_BPMN_MALFORMED');
    expect(error.message).toContain('invalid UTF-8 byte 0xfc');
    expect(error.line).toBe(4);
    expect(error.column).toBe(54);
  });

  test('invalid UTF-8 without declaration names default', () => {
    const bytes = Buffer.concat([Buffer.from(`${HEAD}<!-- `), Buffer.from([0xc3, 0x28]), Buffer.from(` -->${TAIL}`)]);
    const error = rejectionOf(bytes);
    expectCode(error, 'ERR_BPMN_MALFORMED');
    expect(error.message).toContain('no encoding is declared, so UTF-8 applies');
  });

  test('truncated UTF-8 sequence at end rejected', () => {
    const bytes = Buffer.concat([Buffer.from(`${HEAD}${TAIL}`), Buffer.from([0xe2, 0x82])]);
    expectCode(rejectionOf(bytes), 'ERR_BPMN_MALFORMED');
  });

  test('non-ASCII byte in US-ASCII rejected', () => {
    const bytes = Buffer.concat([Buffer.from(`<?xml version="1.0" encoding="US-ASCII"?>\n${HEAD}<!-- `), Buffer.from([0xe9]), Buffer.from(` -->${TAIL}`)]);
    const error = rejectionOf(bytes);
    expectCode(error, 'ERR_BPMN_MALFORMED');
    expect(error.message).toContain('invalid US-ASCII byte 0xe9');
  });

  test('unsupported encoding rejected', () => {
    const error = rejectionOf(Buffer.from(`<?xml version="1.0" encoding="EBCDIC-XYZ"?>${HEAD}${TAIL}`));
    expectCode(error, 'ERR_BPMN_MALFORMED');
    expect(error.message).toContain('"EBCDIC-XYZ"');
  });

  test('UTF-16 declared on single-byte text rejected', () => {
    const error = rejectionOf(Buffer.from(`<?xml version="1.0" encoding="UTF-16"?>${HEAD}${TAIL}`));
    expectCode(error, 'ERR_BPMN_MALFORMED');
    expect(error.message).toContain('UTF-16');
  });

  test('byte order mark contradicting declaration rejected', () => {
    const text = `<?xml version="1.0" encoding="ISO-8859-1"?>${HEAD}${TAIL}`;
    const error = rejectionOf(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));
    expectCode(error, 'ERR_BPMN_MALFORMED');
    expect(error.message).toContain('byte order mark says UTF-8');
  });

  test('UTF-32 rejected', () => {
    const error = rejectionOf(Buffer.from([0x00, 0x00, 0xfe, 0xff, 0x00, 0x00, 0x00, 0x3c]));
    expectCode(error, 'ERR_BPMN_MALFORMED');
    expect(error.message).toContain('UTF-32');
  });
});

/**
 * Decoding of XML bytes to text, following the detection order of XML 1.0
 * Appendix F: a byte order mark first, then the `encoding` of the XML
 * declaration, then UTF-8. Bytes that are invalid in the chosen encoding
 * raise an error instead of turning into replacement characters.
 */
import { BpmnParseError } from '../errors.ts';

/** How the encoding of the bytes was determined. */
type EncodingSource = 'byte order mark' | 'byte pattern' | 'XML declaration' | 'default';

interface Detected {
  /** WHATWG encoding label for TextDecoder. */
  label: string;
  /** Encoding name for messages: as the XML declaration spells it, else the canonical name. */
  name: string;
  source: EncodingSource;
}

/** Bytes searched for the end of the XML declaration (`?>`). */
const MAX_DECLARATION_BYTES = 1024;

const ENCODING_PATTERN = /^<\?xml\s[^>]*?\bencoding\s*=\s*(["'])([^"']*)\1/;

/** Labels of US-ASCII. */
const ASCII_LABELS = new Set(['ascii', 'us-ascii', 'ansi_x3.4-1968', 'iso646-us', 'csascii']);

/** Labels of ISO-8859-1 (IANA names and aliases). */
const LATIN1_LABELS = new Set([
  'iso-8859-1',
  'iso8859-1',
  'iso_8859-1',
  'iso88591',
  'iso_8859-1:1987',
  'iso-ir-100',
  'latin1',
  'l1',
  'cp819',
  'ibm819',
  'csisolatin1',
]);

const UTF16_LABELS = new Set(['utf-16', 'utf-16le', 'utf-16be', 'ucs-2', 'iso-10646-ucs-2', 'unicode', 'unicodefeff', 'unicodefffe']);

/**
 * Decodes XML bytes to a string without the byte order mark.
 *
 * ISO-8859-1 and US-ASCII are decoded as true ISO-8859-1, each byte to the
 * code point of its value, as Java and expat do. TextDecoder is not used for
 * them because it reads every ISO-8859-1 label as windows-1252 (WHATWG
 * Encoding Standard), which would change bytes 0x80-0x9F and so ids that the
 * engine reports. Every byte is valid ISO-8859-1; US-ASCII is checked for
 * bytes above 0x7F. Other encodings, windows-1252 among them, go through
 * TextDecoder.
 *
 * @throws BpmnParseError `ERR_BPMN_MALFORMED` when the encoding is not supported,
 *   contradicts the byte order mark, or the bytes are invalid in it.
 */
export function decodeXml(bytes: Uint8Array): string {
  const detected = detectByBytes(bytes);
  if (detected !== undefined) {
    const text = decodeStrict(bytes, detected);
    checkDeclarationAgrees(text, detected);
    return text;
  }

  const declared = readDeclaredEncoding(bytes);
  if (declared === undefined) {
    return decodeStrict(bytes, { label: 'utf-8', name: 'UTF-8', source: 'default' });
  }

  const label = declared.toLowerCase();
  if (UTF16_LABELS.has(label)) {
    throw new BpmnParseError(
      'ERR_BPMN_MALFORMED',
      `the XML declaration names encoding "${declared}", but the file starts with single-byte characters and has no ` +
        'UTF-16 byte order mark; correct the encoding declaration or save the file as UTF-16 with a byte order mark',
      { line: 1, column: 1 },
    );
  }
  if (ASCII_LABELS.has(label)) {
    checkAscii(bytes, declared);
    return decodeLatin1(bytes);
  }
  if (LATIN1_LABELS.has(label)) {
    return decodeLatin1(bytes);
  }
  return decodeStrict(bytes, { label, name: declared, source: 'XML declaration' });
}

/** Detects UTF-8 and UTF-16 by byte order mark, and UTF-16 without one by the bytes of `<?`. */
function detectByBytes(bytes: Uint8Array): Detected | undefined {
  const [b0, b1, b2, b3] = bytes;

  if ((b0 === 0x00 && b1 === 0x00) || (b2 === 0x00 && b3 === 0x00 && (b0 === 0xff || b0 === 0x3c))) {
    throw new BpmnParseError(
      'ERR_BPMN_MALFORMED',
      'the file looks like UTF-32 (its first bytes contain two zero bytes in a row), which is not supported; save it as UTF-8',
      { line: 1, column: 1 },
    );
  }
  if (b0 === 0xef && b1 === 0xbb && b2 === 0xbf) {
    return { label: 'utf-8', name: 'UTF-8', source: 'byte order mark' };
  }
  if (b0 === 0xff && b1 === 0xfe) {
    return { label: 'utf-16le', name: 'UTF-16LE', source: 'byte order mark' };
  }
  if (b0 === 0xfe && b1 === 0xff) {
    return { label: 'utf-16be', name: 'UTF-16BE', source: 'byte order mark' };
  }
  if (b0 === 0x3c && b1 === 0x00 && b2 === 0x3f && b3 === 0x00) {
    return { label: 'utf-16le', name: 'UTF-16LE', source: 'byte pattern' };
  }
  if (b0 === 0x00 && b1 === 0x3c && b2 === 0x00 && b3 === 0x3f) {
    return { label: 'utf-16be', name: 'UTF-16BE', source: 'byte pattern' };
  }
  return undefined;
}

/** Reads `encoding="..."` from an XML declaration at the very start of ASCII-compatible bytes. */
function readDeclaredEncoding(bytes: Uint8Array): string | undefined {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, MAX_DECLARATION_BYTES)).toString('latin1');
  const end = head.indexOf('?>');
  if (!head.startsWith('<?xml') || end === -1) {
    return undefined;
  }
  return ENCODING_PATTERN.exec(head.slice(0, end))?.[2];
}

/**
 * Raises when the XML declaration of text decoded by byte order mark or
 * byte pattern names another encoding family: XML 1.0 section 4.3.3 makes
 * that a fatal error.
 */
function checkDeclarationAgrees(text: string, detected: Detected): void {
  const end = text.indexOf('?>');
  const declared = text.startsWith('<?xml') && end !== -1 ? ENCODING_PATTERN.exec(text.slice(0, end))?.[2] : undefined;
  if (declared === undefined) {
    return;
  }

  const label = declared.toLowerCase();
  const agrees = detected.label === 'utf-8' ? label === 'utf-8' || label === 'utf8' : UTF16_LABELS.has(label);
  if (!agrees) {
    throw new BpmnParseError(
      'ERR_BPMN_MALFORMED',
      `the XML declaration names encoding "${declared}", but the ${detected.source} says ${detected.name}; ` +
        'correct the encoding declaration to match how the file is saved',
      { line: 1, column: 1 },
    );
  }
}

function checkAscii(bytes: Uint8Array, declared: string): void {
  const offset = bytes.findIndex((byte) => byte > 0x7f);
  if (offset !== -1) {
    throw invalidBytesError(bytes, offset, { label: 'us-ascii', name: declared, source: 'XML declaration' }, 'windows-1252');
  }
}

function decodeLatin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function decodeStrict(bytes: Uint8Array, detected: Detected): string {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(detected.label, { fatal: true });
  } catch (error) {
    throw new BpmnParseError(
      'ERR_BPMN_MALFORMED',
      `the XML declaration names encoding "${detected.name}", which is not supported; save the file as UTF-8 or UTF-16`,
      { line: 1, column: 1 },
      { cause: error },
    );
  }

  try {
    return decoder.decode(bytes);
  } catch (error) {
    const offset = findInvalidOffset(bytes, decoder.encoding);
    throw invalidBytesError(bytes, offset, detected, decoder.encoding, { cause: error });
  }
}

/**
 * Finds the byte offset where decoding first fails, by binary search over
 * prefixes decoded in streaming mode (a prefix that ends inside a valid
 * multi-byte sequence still decodes). Runs only after a decode has failed.
 */
function findInvalidOffset(bytes: Uint8Array, encoding: string): number {
  let valid = 0;
  let invalid = bytes.length;
  if (decodesAsPrefix(bytes, invalid, encoding)) {
    // Only the last sequence is incomplete.
    return bytes.length;
  }
  while (invalid - valid > 1) {
    const middle = Math.floor((valid + invalid) / 2);
    if (decodesAsPrefix(bytes, middle, encoding)) {
      valid = middle;
    } else {
      invalid = middle;
    }
  }
  return valid;
}

function decodesAsPrefix(bytes: Uint8Array, length: number, encoding: string): boolean {
  try {
    new TextDecoder(encoding, { fatal: true }).decode(bytes.subarray(0, length), { stream: true });
    return true;
  } catch {
    return false;
  }
}

function invalidBytesError(
  bytes: Uint8Array,
  offset: number,
  detected: Detected,
  decoderEncoding: string,
  options?: ErrorOptions,
): BpmnParseError {
  const before = new TextDecoder(decoderEncoding).decode(bytes.subarray(0, offset), { stream: true });
  const lineStart = before.lastIndexOf('\n') + 1;
  const line = countNewlines(before) + 1;
  const column = before.length - lineStart + 1;
  const why =
    detected.source === 'default'
      ? 'no encoding is declared, so UTF-8 applies'
      : `the ${detected.source} ${detected.source === 'XML declaration' ? 'names' : 'indicates'} ${detected.name}`;
  return new BpmnParseError(
    'ERR_BPMN_MALFORMED',
    `invalid ${detected.name} byte 0x${(bytes[offset] ?? 0).toString(16).padStart(2, '0')} at line ${line}, ` +
      `column ${column} (byte offset ${offset}): ${why}; save the file in that encoding or correct its encoding declaration`,
    { line, column },
    options,
  );
}

function countNewlines(text: string): number {
  let count = 0;
  for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1)) {
    count += 1;
  }
  return count;
}

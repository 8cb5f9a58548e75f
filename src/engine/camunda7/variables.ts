/**
 * Conversion between plain values and the typed variables of the Camunda 7
 * REST API (`{ type, value, valueInfo }`). docs/camunda7.md has the mapping
 * as a table. Reading keeps each variable's type, so that a result variable
 * of the same name goes back with it. A type the route declares wins over
 * that, and a value with neither is typed by its JavaScript kind.
 */
import { VariableTypeError } from '../../errors.ts';
import { parseJson, stringifyJson } from '../../lossless-json.ts';
import { TypedVariable, type DeclaredType } from '../typed-variable.ts';
import type { Variables } from '../types.ts';
import { formatEngineDate } from './dates.ts';

/** A variable as the REST API carries it. */
export interface RestVariable {
  type: string;
  value: unknown;
  valueInfo?: Record<string, unknown>;
}

/** The engine type of a fetched variable, kept to write a result of the same name back with it. */
export interface FetchedType {
  type: string;
  valueInfo: Readonly<Record<string, unknown>>;
}

/** A `File` variable as services see it; `content` is the file's bytes in base64. */
export interface FileVariable {
  filename: string | null;
  mimeType: string | null;
  encoding: string | null;
  content: string | null;
}

/** Variables read from the engine, with their engine types and the names of `File` variables whose content is still to load. */
export interface ReadVariables {
  variables: Variables;
  types: Map<string, FetchedType>;
  files: string[];
}

const JSON_FORMAT = 'application/json';
const SHORT_RANGE = { min: -(2 ** 15), max: 2 ** 15 - 1 };
const INTEGER_RANGE = { min: -(2 ** 31), max: 2 ** 31 - 1 };
const LONG_RANGE = { min: -(2n ** 63n), max: 2n ** 63n - 1n };
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Converts the variables of a fetched task to plain values (see the table in
 * docs/camunda7.md). Throws {@link VariableTypeError} for a `Json` or
 * JSON-serialized `Object` variable whose text is not valid JSON.
 */
export function fromRestVariables(rest: Record<string, RestVariable> | undefined): ReadVariables {
  const read: ReadVariables = { variables: {}, types: new Map(), files: [] };
  for (const [name, variable] of Object.entries(rest ?? {})) {
    read.variables[name] = fromRestVariable(name, variable);
    read.types.set(name, { type: variable.type, valueInfo: { ...variable.valueInfo } });
    if (variable.type.toLowerCase() === 'file') {
      read.files.push(name);
    }
  }
  return read;
}

function fromRestVariable(name: string, variable: RestVariable): unknown {
  const { value, valueInfo } = variable;
  switch (variable.type.toLowerCase()) {
    case 'json':
      return parseJsonText(name, value);
    case 'object':
      return valueInfo?.serializationDataFormat === JSON_FORMAT ? parseJsonText(name, value) : value;
    case 'date':
      return typeof value === 'string' ? new Date(value) : value;
    case 'file':
      return {
        filename: stringOrNull(valueInfo?.filename),
        mimeType: stringOrNull(valueInfo?.mimeType),
        encoding: stringOrNull(valueInfo?.encoding),
        content: null,
      } satisfies FileVariable;
    default:
      return value;
  }
}

function parseJsonText(name: string, value: unknown): unknown {
  if (typeof value !== 'string') {
    return value;
  }
  try {
    return parseJson(value);
  } catch (error) {
    throw new VariableTypeError(name, `variable "${name}" contains text that is not valid JSON (${(error as Error).message}); fix the variable in the engine`, { cause: error });
  }
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/**
 * Converts plain values to typed variables. A {@link TypedVariable} gets its
 * declared type and raises {@link VariableTypeError} when its value does not
 * fit. Otherwise a variable fetched with the task keeps its engine type when
 * the value fits it. Any other value is typed by its kind: strings String,
 * booleans Boolean, integers Integer within 32 bits and Long within 64,
 * other numbers Double, Dates Date, byte arrays Bytes, null and undefined
 * Null, objects and arrays Json. A number JSON cannot carry, or an integer
 * past 64 bits, raises {@link VariableTypeError}.
 */
export function toRestVariables(variables: Variables, fetched: ReadonlyMap<string, FetchedType> | undefined): Record<string, RestVariable> {
  const rest: Record<string, RestVariable> = {};
  for (const [name, value] of Object.entries(variables)) {
    rest[name] = toRestVariable(name, value, fetched?.get(name));
  }
  return rest;
}

function toRestVariable(name: string, value: unknown, fetched: FetchedType | undefined): RestVariable {
  if (value instanceof TypedVariable) {
    return declaredVariable(name, value.declared, value.value);
  }
  if (fetched !== undefined) {
    const kept = asType(fetched.type, value, fetched.valueInfo);
    if (kept !== undefined) {
      return kept;
    }
  }
  return inferredVariable(name, value);
}

function declaredVariable(name: string, declared: DeclaredType, value: unknown): RestVariable {
  const valueInfo = declared.objectTypeName === undefined ? undefined : { objectTypeName: declared.objectTypeName };
  const converted = asType(declared.type, value, valueInfo, true);
  if (converted === undefined) {
    throw new VariableTypeError(name, `variable "${name}" is declared ${declared.type} but the value ${describe(value)} does not fit it; ${fixFor(declared.type)}`);
  }
  return converted;
}

/**
 * Converts a value to an engine type; undefined when it does not fit.
 * `strict` is set for declared types: a declared Json accepts any JSON
 * value, where a fetched Json type accepts only objects and arrays.
 */
function asType(type: string, value: unknown, valueInfo: Readonly<Record<string, unknown>> | undefined, strict = false): RestVariable | undefined {
  switch (type.toLowerCase()) {
    case 'string':
      return typeof value === 'string' ? { type: 'String', value } : undefined;
    case 'boolean':
      return typeof value === 'boolean' ? { type: 'Boolean', value } : undefined;
    case 'short':
      return integerIn(value, SHORT_RANGE) ? { type: 'Short', value } : undefined;
    case 'integer':
      return integerIn(value, INTEGER_RANGE) ? { type: 'Integer', value } : undefined;
    case 'long':
      return isLong(value) ? { type: 'Long', value } : undefined;
    case 'double':
      return typeof value === 'number' && Number.isFinite(value) ? { type: 'Double', value } : undefined;
    case 'date': {
      const text = formatEngineDate(value);
      return text === undefined ? undefined : { type: 'Date', value: text };
    }
    case 'json':
      return isStructured(value) || (strict && value !== undefined) ? { type: 'Json', value: stringifyJson(value), valueInfo: {} } : undefined;
    case 'xml':
      return typeof value === 'string' ? { type: 'Xml', value } : undefined;
    case 'object':
      return objectVariable(value, valueInfo);
    case 'bytes':
      return bytesVariable(value);
    case 'file':
      return fileVariable(value);
    case 'null':
      return value === null || value === undefined ? { type: 'Null', value: null } : undefined;
    default:
      return undefined;
  }
}

function inferredVariable(name: string, value: unknown): RestVariable {
  if (value === null || value === undefined) {
    return { type: 'Null', value: null };
  }
  switch (typeof value) {
    case 'string':
      return { type: 'String', value };
    case 'boolean':
      return { type: 'Boolean', value };
    case 'number':
      return numberVariable(name, value);
    case 'bigint':
      if (!isLong(value)) {
        throw new VariableTypeError(name, `variable "${name}" is ${value}, outside the 64-bit range of a Long; send it as a string, or declare it Double in variableTypes`);
      }
      return { type: 'Long', value };
    case 'object':
      return objectKindVariable(name, value);
    default:
      throw new VariableTypeError(name, `variable "${name}" is a ${typeof value}, which has no engine type; use a string, number, boolean, object or null`);
  }
}

function numberVariable(name: string, value: number): RestVariable {
  if (!Number.isFinite(value)) {
    throw new VariableTypeError(name, `variable "${name}" is ${value}, which JSON cannot carry; use null or a finite number`);
  }
  if (integerIn(value, INTEGER_RANGE)) {
    return { type: 'Integer', value };
  }
  return { type: Number.isSafeInteger(value) ? 'Long' : 'Double', value };
}

function objectKindVariable(name: string, value: object): RestVariable {
  if (value instanceof Date) {
    const text = formatEngineDate(value);
    if (text === undefined) {
      throw new VariableTypeError(name, `variable "${name}" is an invalid Date`);
    }
    return { type: 'Date', value: text };
  }
  if (value instanceof Uint8Array) {
    return { type: 'Bytes', value: Buffer.from(value).toString('base64') };
  }
  return { type: 'Json', value: stringifyJson(value), valueInfo: {} };
}

function integerIn(value: unknown, range: { min: number; max: number }): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= range.min && value <= range.max;
}

function isLong(value: unknown): boolean {
  if (typeof value === 'bigint') {
    return value >= LONG_RANGE.min && value <= LONG_RANGE.max;
  }
  return typeof value === 'number' && Number.isSafeInteger(value);
}

function isStructured(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !(value instanceof Date) && !(value instanceof Uint8Array);
}

/**
 * Builds an `Object` variable. A JSON-serialized one (the default) takes any
 * object or array, with the fetched or declared Java class, or else
 * `java.util.LinkedHashMap` for objects and `java.util.ArrayList` for arrays.
 * A fetched one in another format (Java serialization, XML) takes back its
 * serialized text unchanged.
 */
function objectVariable(value: unknown, valueInfo: Readonly<Record<string, unknown>> | undefined): RestVariable | undefined {
  const format = typeof valueInfo?.serializationDataFormat === 'string' ? valueInfo.serializationDataFormat : JSON_FORMAT;
  if (format !== JSON_FORMAT) {
    return typeof value === 'string' ? { type: 'Object', value, valueInfo: { ...valueInfo } } : undefined;
  }
  if (!isStructured(value)) {
    return undefined;
  }
  const objectTypeName = typeof valueInfo?.objectTypeName === 'string'
    ? valueInfo.objectTypeName
    : (Array.isArray(value) ? 'java.util.ArrayList' : 'java.util.LinkedHashMap');
  return { type: 'Object', value: stringifyJson(value), valueInfo: { objectTypeName, serializationDataFormat: JSON_FORMAT } };
}

function bytesVariable(value: unknown): RestVariable | undefined {
  if (value instanceof Uint8Array) {
    return { type: 'Bytes', value: Buffer.from(value).toString('base64') };
  }
  return typeof value === 'string' && BASE64.test(value) ? { type: 'Bytes', value } : undefined;
}

/** Builds a `File` variable from `{ filename, mimeType, encoding, content }`, the shape services receive. */
function fileVariable(value: unknown): RestVariable | undefined {
  if (!isStructured(value) || Array.isArray(value)) {
    return undefined;
  }
  const { filename, mimeType, encoding, content } = value as Partial<Record<keyof FileVariable, unknown>>;
  if (typeof filename !== 'string' || filename === '' || typeof content !== 'string' || !BASE64.test(content)) {
    return undefined;
  }
  const valueInfo: Record<string, unknown> = { filename };
  if (typeof mimeType === 'string') {
    valueInfo.mimeType = mimeType;
  }
  if (typeof encoding === 'string') {
    valueInfo.encoding = encoding;
  }
  return { type: 'File', value: content, valueInfo };
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') {
    return value.toString();
  }
  const text = value instanceof Date ? `Date ${String(value)}` : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Describes what a service should send for a declared type. */
function fixFor(type: string): string {
  switch (type) {
    case 'Date':
      return 'send an ISO-8601 date-time with an offset, such as 2026-01-31T09:30:00.000+01:00';
    case 'Short':
    case 'Integer':
    case 'Long':
      return `send an integer within the ${type} range`;
    case 'Double':
      return 'send a finite number';
    case 'Bytes':
      return 'send the bytes as a base64 string';
    case 'File':
      return 'send { filename, mimeType, encoding, content } with the content in base64';
    case 'Object':
    case 'Json':
      return 'send a JSON object or array';
    default:
      return `send a ${type.toLowerCase()} value or change variableTypes`;
  }
}

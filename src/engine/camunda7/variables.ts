/**
 * Conversion between plain values and the typed variables of the Camunda 7
 * REST API (`{ type, value, valueInfo }`). The rules follow
 * camunda-external-task-client-js 3.x, which the daemon used before, so
 * services and handlers see the same values.
 */
import type { Variables } from '../types.ts';

/** A variable as the REST API carries it. */
export interface TypedValue {
  type: string;
  value: unknown;
  valueInfo?: Record<string, unknown>;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Converts typed variables from the engine to plain values: `Json` is
 * parsed, `Date` becomes a Date, `File` becomes its `valueInfo` (file name,
 * MIME type, encoding; the content is not downloaded), and every other type
 * keeps its value as sent.
 */
export function fromTypedValues(typed: Record<string, TypedValue> | undefined): Variables {
  const variables: Variables = {};
  for (const [name, variable] of Object.entries(typed ?? {})) {
    variables[name] = fromTypedValue(variable);
  }
  return variables;
}

function fromTypedValue(variable: TypedValue): unknown {
  switch (variable.type.toLowerCase()) {
    case 'json':
      return typeof variable.value === 'string' ? JSON.parse(variable.value) : variable.value;
    case 'date':
      return typeof variable.value === 'string' ? new Date(variable.value) : variable.value;
    case 'file':
      return { ...variable.valueInfo };
    default:
      return variable.value;
  }
}

/**
 * Converts plain values to typed variables: strings, booleans and null keep
 * their type, integers within 32 bits are `Integer`, other integers `Long`,
 * other numbers `Double`, Dates `Date`, and objects and arrays `Json`.
 * `undefined` is sent as `Null`.
 */
export function toTypedValues(variables: Variables): Record<string, TypedValue> {
  const typed: Record<string, TypedValue> = {};
  for (const [name, value] of Object.entries(variables)) {
    typed[name] = toTypedValue(value);
  }
  return typed;
}

function toTypedValue(value: unknown): TypedValue {
  if (value === null || value === undefined) {
    return { type: 'Null', value: null };
  }
  switch (typeof value) {
    case 'string':
      return { type: 'String', value };
    case 'boolean':
      return { type: 'Boolean', value };
    case 'number':
      if (Number.isInteger(value)) {
        return { type: value >= INT32_MIN && value <= INT32_MAX ? 'Integer' : 'Long', value };
      }
      return { type: 'Double', value };
    case 'bigint':
      return { type: 'Long', value: value.toString() };
    default:
      if (value instanceof Date) {
        // The engine's REST date format is yyyy-MM-dd'T'HH:mm:ss.SSSZ.
        return { type: 'Date', value: value.toISOString().replace(/Z$/, '+0000') };
      }
      return { type: 'Json', value: JSON.stringify(value), valueInfo: {} };
  }
}

/**
 * Engine variable types that a route declares for its result variables
 * (`variableTypes` on a topic, or the `variableTypes` activity property), and
 * the wrapper that carries such a type from the route to the engine adapter.
 */
import type { Variables } from './types.ts';

/** Variable types of Camunda 7 / Operaton that a route may declare, in the engine's spelling. */
export const VARIABLE_TYPES = ['String', 'Boolean', 'Short', 'Integer', 'Long', 'Double', 'Date', 'Json', 'Xml', 'Object', 'Bytes', 'File', 'Null'] as const;

export type VariableType = (typeof VARIABLE_TYPES)[number];

/** A declared type; `objectTypeName` is the Java class of an `Object` value, e.g. `com.example.Order`. */
export interface DeclaredType {
  type: VariableType;
  objectTypeName: string | undefined;
}

const TYPE_BY_LOWER_NAME: ReadonlyMap<string, VariableType> = new Map(VARIABLE_TYPES.map((type) => [type.toLowerCase(), type]));

const JAVA_CLASS_NAME = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*(\[\])*$/;

/** Describes the accepted spellings, for error messages. */
export const DECLARED_TYPE_HINT = `one of ${VARIABLE_TYPES.join(', ')}, or Object:<Java class> such as Object:com.example.Order`;

/**
 * Parses a declared type such as `Date`, `long` or `Object:com.example.Order`
 * (type names are case-insensitive); returns undefined for any other text.
 */
export function parseDeclaredType(text: string): DeclaredType | undefined {
  const [name = '', objectTypeName] = text.trim().split(/\s*:\s*/, 2);
  const type = TYPE_BY_LOWER_NAME.get(name.toLowerCase());
  if (type === undefined) {
    return undefined;
  }
  if (objectTypeName === undefined) {
    return { type, objectTypeName: undefined };
  }
  if (type !== 'Object' || !JAVA_CLASS_NAME.test(objectTypeName)) {
    return undefined;
  }
  return { type, objectTypeName };
}

/**
 * A variable value with the engine type its route declared. Adapters that
 * know engine types write it with that type, and JSON serialization writes
 * the plain value.
 */
export class TypedVariable {
  readonly declared: DeclaredType;
  readonly value: unknown;

  constructor(declared: DeclaredType, value: unknown) {
    this.declared = declared;
    this.value = value;
  }

  toJSON(): unknown {
    return this.value;
  }
}

/** Wraps each variable whose name has a declared type in a {@link TypedVariable}; the others stay as they are. */
export function withDeclaredTypes(variables: Variables, types: ReadonlyMap<string, DeclaredType> | undefined): Variables {
  if (types === undefined || types.size === 0) {
    return variables;
  }
  const typed: Variables = {};
  for (const [name, value] of Object.entries(variables)) {
    const declared = types.get(name);
    typed[name] = declared === undefined || value instanceof TypedVariable ? value : new TypedVariable(declared, value);
  }
  return typed;
}

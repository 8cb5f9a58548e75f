/**
 * Builds the configuration file's JSON Schema from the zod schema that
 * `validate` and `start` use, so the two cannot drift, and renders the
 * configuration key reference from that JSON Schema.
 *
 * The JSON Schema targets draft-07, the newest draft that yaml-language-server
 * supports. It describes the file as written, before `${VAR}` substitution:
 * every constrained string also accepts a value containing a `${NAME}`
 * reference, and numbers also accept numeric strings, as the loader does.
 */
import { z } from 'zod';

import { configSchema } from '../../src/config/schema.ts';

/** A JSON Schema node, as zod emits it and as the renderer reads it. */
export type JsonSchema = Record<string, unknown>;

/** Matches a string with a `${NAME}` or `${NAME:-default}` reference anywhere in it. */
export const ENV_REFERENCE_PATTERN = '\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}';

/** Numeric strings that the loader's integer fields turn into numbers. */
const INTEGER_STRING_PATTERN = '^\\s*-?\\d+\\s*$';

/** Numeric strings that the loader's fraction and factor fields turn into numbers. */
const DECIMAL_STRING_PATTERN = '^\\s*(\\d+(\\.\\d+)?|\\d*\\.\\d+)\\s*$';

/** `format` values that draft-07 defines; zod also emits its own names (such as `starts_with`), which editors reject. */
const STANDARD_FORMATS = new Set([
  'date-time', 'date', 'time', 'email', 'idn-email', 'hostname', 'idn-hostname', 'ipv4', 'ipv6',
  'uri', 'uri-reference', 'iri', 'iri-reference', 'uri-template', 'json-pointer', 'relative-json-pointer', 'regex',
]);

/** Builds the JSON Schema of a configuration file, with `title` and `description` for editors. */
export function buildConfigJsonSchema(version: string): JsonSchema {
  const generated = z.toJSONSchema(configSchema, {
    target: 'draft-07',
    io: 'input',
    unrepresentable: 'throw',
    override: ({ zodSchema, jsonSchema }) => {
      const def = zodSchema._zod.def;
      const json = jsonSchema as JsonSchema;
      // In `input` mode zod leaves out defaults; editors show them, so they go back in.
      if (def.type === 'default' || def.type === 'prefault') {
        json.default = structuredClone(def.defaultValue);
      }
      if (def.type === 'pipe' && def.in._zod.def.type === 'transform') {
        acceptPreprocessedStrings(json);
      }
    },
  }) as JsonSchema;

  const { $schema, ...body } = generated;
  const schema: JsonSchema = {
    $schema,
    title: 'bpmn-task-router configuration',
    description: `Configuration file of bpmn-task-router ${version}. Generated from src/config/schema.ts by npm run schema; do not edit.`,
    ...body,
  };
  visit(schema, false);
  return schema;
}

/**
 * Lists the key paths that have no description, such as `engine.maxTasks`;
 * a map's entries appear as `<name>` and a list's items as `[]`.
 */
export function undocumentedKeys(schema: JsonSchema): string[] {
  const missing: string[] = [];
  const walk = (node: JsonSchema, path: string): void => {
    if (path !== '' && typeof node.description !== 'string') {
      missing.push(path);
    }
    if (node.properties !== undefined) {
      for (const [key, child] of Object.entries(node.properties as Record<string, JsonSchema>)) {
        walk(child, path === '' ? key : `${path}.${key}`);
      }
    }
    const entry = node.additionalProperties;
    if (entry !== null && typeof entry === 'object' && (entry as JsonSchema).type === 'object') {
      walkChildren(entry as JsonSchema, `${path}.<name>`);
    }
    const items = node.items;
    if (items !== null && typeof items === 'object' && (items as JsonSchema).type === 'object') {
      walkChildren(items as JsonSchema, `${path}[]`);
    }
  };
  const walkChildren = (node: JsonSchema, path: string): void => {
    for (const [key, child] of Object.entries((node.properties ?? {}) as Record<string, JsonSchema>)) {
      walk(child, `${path}.${key}`);
    }
  };
  walk(schema, '');
  return missing;
}

/**
 * Widens a `z.preprocess` field to the strings its preprocessing accepts: a
 * number field takes numeric strings, and an enum field takes its values in
 * any letter case.
 */
function acceptPreprocessedStrings(json: JsonSchema): void {
  if (json.type === 'integer' || json.type === 'number') {
    const { description, default: defaultValue, ...numberSchema } = json;
    for (const key of Object.keys(json)) {
      delete json[key];
    }
    const pattern = numberSchema.type === 'integer' ? INTEGER_STRING_PATTERN : DECIMAL_STRING_PATTERN;
    Object.assign(json, {
      ...(description === undefined ? {} : { description }),
      ...(defaultValue === undefined ? {} : { default: defaultValue }),
      anyOf: [numberSchema, { type: 'string', pattern }],
    });
    return;
  }
  if (Array.isArray(json.enum) && json.enum.every((value) => typeof value === 'string')) {
    const { enum: values, ...rest } = json;
    delete json.enum;
    const anyCase = (values as string[]).map(caseInsensitive).join('|');
    Object.assign(json, { ...rest, anyOf: [{ enum: values }, { type: 'string', pattern: `^(${anyCase})$` }] });
  }
}

function caseInsensitive(value: string): string {
  return [...value].map((char) => {
    const lower = char.toLowerCase();
    const upper = char.toUpperCase();
    return lower === upper ? char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : `[${upper}${lower}]`;
  }).join('');
}

/**
 * Walks the generated schema: lets every pattern-checked string take a
 * `${NAME}` reference (except property names, which are never substituted)
 * and drops `format` values outside the standard.
 */
function visit(node: unknown, isPropertyName: boolean): void {
  if (Array.isArray(node)) {
    node.forEach((item) => visit(item, isPropertyName));
    return;
  }
  if (node === null || typeof node !== 'object') {
    return;
  }

  const json = node as JsonSchema;
  putAnnotationsFirst(json);
  if (typeof json.format === 'string' && !STANDARD_FORMATS.has(json.format)) {
    delete json.format;
  }
  if (!isPropertyName && typeof json.pattern === 'string' && !json.pattern.endsWith(ENV_REFERENCE_PATTERN)) {
    json.pattern = `${json.pattern}|${ENV_REFERENCE_PATTERN}`;
  }
  for (const [key, value] of Object.entries(json)) {
    if (key === 'default' || key === 'examples' || key === 'const' || key === 'enum') {
      continue;
    }
    if (key === 'properties' || key === 'patternProperties' || key === 'definitions') {
      for (const child of Object.values(value as JsonSchema)) {
        visit(child, false);
      }
      continue;
    }
    visit(value, key === 'propertyNames');
  }
}

/** Reorders a node's keys so that `description` comes first and `default` right after the type, as people read them. */
function putAnnotationsFirst(json: JsonSchema): void {
  const entries = Object.entries(json);
  const order = ['description', 'type', 'default'];
  const rank = (key: string) => (order.includes(key) ? order.indexOf(key) : order.length);
  entries.sort(([a], [b]) => rank(a) - rank(b));
  for (const [key] of entries) {
    delete json[key];
  }
  Object.assign(json, Object.fromEntries(entries));
}

/** Serialises the schema as the committed file: two-space JSON with a final newline. */
export function formatSchemaFile(schema: JsonSchema): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/**
 * Renders docs/config-reference.md from the configuration's JSON Schema: one
 * table per top-level section, one row per key, with its type, default,
 * allowed values and description.
 */
import { ENV_REFERENCE_PATTERN, type JsonSchema } from './config-schema.ts';

interface Row {
  path: string;
  type: string;
  defaultText: string;
  allowed: string;
  description: string;
}

const DURATION_UNITS: readonly [number, string][] = [[3_600_000, 'h'], [60_000, 'm'], [1_000, 's']];

/** Renders the whole reference page. */
export function renderConfigReference(schema: JsonSchema): string {
  const properties = schema.properties as Record<string, JsonSchema>;
  const required = new Set(schema.required as string[] | undefined);
  const sections = Object.entries(properties).map(([key, section]) => renderSection(key, section, required.has(key)));

  return [
    '# Configuration key reference',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run schema`; edit the schema, not this file. -->',
    '',
    'Every key of the configuration file, generated from the schema that',
    '`validate` and `start` use. [configuration.md](configuration.md) explains',
    'how the keys work together, and `config/schema.json` is the same schema as',
    'JSON Schema for editors.',
    '',
    '- A **duration** is milliseconds as a number, or a string with a unit:',
    '  `500ms`, `30s`, `5m`, `1h`.',
    '- Any string value may contain `${NAME}` or `${NAME:-default}`; the',
    '  loader replaces it with the environment variable before it checks the',
    '  value. Numbers may be written as strings for the same reason.',
    '- Unknown keys are errors.',
    '',
    ...sections,
  ].join('\n');
}

function renderSection(key: string, section: JsonSchema, required: boolean): string {
  const rows: Row[] = [];
  collectRows(key, section, required, rows);
  const lines = [
    `## \`${key}\``,
    '',
    '| key | type | default | allowed | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| \`${row.path}\` | ${row.type} | ${row.defaultText} | ${row.allowed.replaceAll('|', '\\|')} | ${escapeCell(row.description)} |`),
    '',
  ];
  return lines.join('\n');
}

function collectRows(path: string, node: JsonSchema, required: boolean, rows: Row[]): void {
  rows.push({
    path,
    type: typeText(node),
    defaultText: required ? 'required' : defaultText(node),
    allowed: allowedText(node),
    description: typeof node.description === 'string' ? node.description : '',
  });

  const children = childrenOf(path, node);
  for (const child of children) {
    collectRows(child.path, child.node, child.required, rows);
  }
}

/** Lists the keys below a node: an object's properties, a map's values, a list's items. */
function childrenOf(path: string, node: JsonSchema): { path: string; node: JsonSchema; required: boolean }[] {
  if (node.type === 'object' && node.properties !== undefined) {
    const required = new Set(node.required as string[] | undefined);
    return Object.entries(node.properties as Record<string, JsonSchema>)
      .map(([key, child]) => ({ path: `${path}.${key}`, node: child, required: required.has(key) }));
  }
  if (node.type === 'object' && isSchema(node.additionalProperties) && node.additionalProperties.type === 'object') {
    const entry = node.additionalProperties;
    return childrenOf(`${path}.<name>`, entry);
  }
  if (node.type === 'array' && isSchema(node.items) && node.items.type === 'object') {
    return childrenOf(`${path}[]`, node.items);
  }
  return [];
}

function typeText(node: JsonSchema): string {
  if (Array.isArray(node.type) && node.type.includes('number') && node.type.includes('string')) {
    // The schema's only number-or-string values are durations.
    return 'duration';
  }
  const preprocessed = preprocessedTarget(node);
  if (preprocessed !== undefined) {
    return typeText(preprocessed);
  }
  if (Array.isArray(node.anyOf)) {
    return [...new Set((node.anyOf as JsonSchema[]).map(typeText))].join(' or ');
  }
  if (Array.isArray(node.oneOf)) {
    return [...new Set((node.oneOf as JsonSchema[]).map(typeText))].join(' or ');
  }
  if (node.enum !== undefined) {
    return 'string';
  }
  if (node.type === 'object') {
    return isSchema(node.additionalProperties) ? `map of ${typeText(node.additionalProperties)}` : 'object';
  }
  if (node.type === 'array') {
    return isSchema(node.items) ? `list of ${typeText(node.items)}` : 'list';
  }
  return typeof node.type === 'string' ? node.type : 'any';
}

/**
 * Returns the number or enum schema of a field that also takes strings (the
 * `anyOf` that config-schema.ts builds for preprocessed fields), or undefined
 * for any other node.
 */
function preprocessedTarget(node: JsonSchema): JsonSchema | undefined {
  const variants = node.anyOf as JsonSchema[] | undefined;
  if (variants?.length !== 2 || variants[1]?.type !== 'string') {
    return undefined;
  }
  const [target] = variants;
  return target !== undefined && (target.type === 'integer' || target.type === 'number' || Array.isArray(target.enum)) ? target : undefined;
}

function defaultText(node: JsonSchema): string {
  if (!('default' in node)) {
    return '';
  }
  const value = node.default;
  if (typeText(node) === 'duration' && typeof value === 'number') {
    return `\`${formatDuration(value)}\``;
  }
  if (value !== null && typeof value === 'object' && Object.keys(value).length > 0) {
    // An object's default is the defaults of its keys, listed in their own rows.
    return '';
  }
  return `\`${JSON.stringify(value)}\``;
}

function formatDuration(milliseconds: number): string {
  for (const [unit, suffix] of DURATION_UNITS) {
    if (milliseconds >= unit && milliseconds % unit === 0) {
      return `${milliseconds / unit}${suffix}`;
    }
  }
  return `${milliseconds}ms`;
}

function allowedText(node: JsonSchema): string {
  if (node.const !== undefined) {
    return `\`${String(node.const)}\``;
  }
  if (Array.isArray(node.enum)) {
    return node.enum.map((value) => `\`${String(value)}\``).join(', ');
  }
  const preprocessed = preprocessedTarget(node);
  if (preprocessed !== undefined) {
    return Array.isArray(preprocessed.enum) ? `${allowedText(preprocessed)} (any case)` : allowedText(preprocessed);
  }
  if (Array.isArray(node.anyOf)) {
    return (node.anyOf as JsonSchema[]).map(allowedText).filter((text) => text !== '').join('; or ');
  }
  if (Array.isArray(node.oneOf)) {
    return (node.oneOf as JsonSchema[]).map(shapeText).join('; or ');
  }
  if (node.type === 'object' && node.properties !== undefined && node.additionalProperties === false && node.description === undefined) {
    return shapeText(node);
  }

  const parts: string[] = [];
  if (typeof node.minimum === 'number' && typeof node.maximum === 'number' && node.maximum < Number.MAX_SAFE_INTEGER) {
    parts.push(`${node.minimum} to ${node.maximum}`);
  } else if (typeof node.minimum === 'number' && typeText(node) !== 'duration') {
    parts.push(`at least ${node.minimum}`);
  }
  if (typeof node.minItems === 'number') {
    parts.push(`at least ${node.minItems} ${node.minItems === 1 ? 'entry' : 'entries'}`);
  }
  if (typeof node.pattern === 'string' && typeText(node) !== 'duration') {
    parts.push(`matches \`${withoutEnvReference(node.pattern)}\``);
  }
  if (typeof node.minLength === 'number' && node.minLength > 0 && node.pattern === undefined) {
    parts.push('not empty');
  }
  if (isSchema(node.propertyNames) && typeof node.propertyNames.pattern === 'string') {
    parts.push(`keys match \`${node.propertyNames.pattern}\``);
  }
  if (isSchema(node.not) && Array.isArray(node.not.required)) {
    parts.push(`not both ${node.not.required.map((key) => `\`${String(key)}\``).join(' and ')}`);
  }
  return parts.join(', ');
}

/** Describes one variant of a union of objects by its `type` constant and its required keys. */
function shapeText(variant: JsonSchema): string {
  const properties = (variant.properties ?? {}) as Record<string, JsonSchema>;
  const required = (variant.required ?? []) as string[];
  const discriminator = Object.entries(properties).find(([, property]) => property.const !== undefined);
  const keys = required.filter((key) => key !== discriminator?.[0]).map((key) => `\`${key}\``);
  const head = discriminator === undefined ? 'object' : `\`${discriminator[0]}: ${String(discriminator[1].const)}\``;
  return keys.length === 0 ? head : `${head} with ${keys.join(', ')}`;
}

function withoutEnvReference(pattern: string): string {
  const suffix = `|${ENV_REFERENCE_PATTERN}`;
  return pattern.endsWith(suffix) ? pattern.slice(0, -suffix.length) : pattern;
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function isSchema(value: unknown): value is JsonSchema {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

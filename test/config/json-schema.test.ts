/**
 * The committed JSON Schema (config/schema.json) against the validator it is
 * generated from: it must be current, accept every example configuration,
 * and reject bad files at the same key as `validate` does.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';

import { parseConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';
import { buildConfigJsonSchema, undocumentedKeys } from '../../deploy/scripts/config-schema.ts';
import { generatedConfigFiles } from '../../deploy/scripts/generate-config-schema.ts';

const SCHEMA_FILE = resolve('config/schema.json');

/** Example configuration files, each with the environment its `${VAR}` references need. */
const EXAMPLES: { file: string; env: NodeJS.ProcessEnv }[] = [
  { file: 'config/examples/order-flow.yaml', env: {} },
  { file: 'deploy/compose/config.yaml', env: {} },
];

/** The configuration embedded in the Kubernetes ConfigMap, which has no file of its own. */
const CONFIG_MAP_ENV: NodeJS.ProcessEnv = {
  ENGINE_URL: 'http://127.0.0.1:8080/engine-rest',
  ENGINE_USER: 'demo',
  ENGINE_PASSWORD: 'secret',
  INVENTORY_URL: 'http://127.0.0.1:9000',
  INVENTORY_TOKEN: 'token',
  REDIS_URL: 'redis://127.0.0.1:6379/0',
  OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces',
};

function compileSchema() {
  const ajv = new Ajv({ strict: true, strictRequired: false, allowUnionTypes: true, allErrors: true });
  return ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object);
}

const validateSchema = compileSchema();

/** Runs the committed JSON Schema over YAML text; returns the key paths it rejects, as `validate` writes them. */
function schemaErrors(text: string): string[] {
  const data: unknown = parseYaml(text);
  if (validateSchema(data)) {
    return [];
  }
  return [...new Set((validateSchema.errors ?? []).map((error) => errorPath(error, data)))];
}

/** Converts an error's JSON Pointer, plus the key it names, to a key path such as `topics[0].errors.409`. */
function errorPath(error: ErrorObject, data: unknown): string {
  const segments = error.instancePath.split('/').slice(1).map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
  const params = error.params as { additionalProperty?: string; missingProperty?: string; propertyName?: string };
  const namedKey = params.additionalProperty ?? params.missingProperty ?? params.propertyName;
  if (namedKey !== undefined) {
    segments.push(namedKey);
  }

  let path = '';
  let node = data;
  for (const segment of segments) {
    if (Array.isArray(node)) {
      path += `[${segment}]`;
    } else if (!/^[A-Za-z0-9_][A-Za-z0-9_-]*$/.test(segment)) {
      path += `[${JSON.stringify(segment)}]`;
    } else {
      path += path === '' ? segment : `.${segment}`;
    }
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[segment] : undefined;
  }
  return path;
}

/** Keeps the paths that lie at `path` or below it. */
function atOrBelow(paths: string[], path: string): string[] {
  return paths.filter((candidate) => candidate === path || candidate.startsWith(`${path}.`) || candidate.startsWith(`${path}[`));
}

/** Runs `validate`'s parser over YAML text; returns the key paths it rejects. */
function validatorErrors(text: string, env: NodeJS.ProcessEnv = {}, file?: string): string[] {
  try {
    parseConfig(text, file === undefined ? { env, baseDir: resolve('.') } : { env, file });
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) {
      throw error;
    }
    return error.issues.map((issue) => issue.path);
  }
}

const BASE = `
engine: { baseUrl: http://127.0.0.1:8080/engine-rest }
services: { inventory: { baseUrl: http://127.0.0.1:9000 } }
`;

/** Files that both must reject, with the key `validate` names. */
const BAD_FILES: { name: string; text: string; path: string }[] = [
  { name: 'engine missing', text: 'topics: [{ topic: t }]', path: 'engine' },
  { name: 'topics missing', text: BASE, path: 'topics' },
  { name: 'empty topic list', text: `${BASE}topics: []`, path: 'topics' },
  { name: 'misspelt key', text: `${BASE}topics: [{ topic: t, servce: inventory }]`, path: 'topics[0].servce' },
  { name: 'maxTasks out of range', text: `engine: { baseUrl: http://127.0.0.1:1/e, maxTasks: 0 }\ntopics: [{ topic: t }]`, path: 'engine.maxTasks' },
  { name: 'maxTasks not a number', text: `engine: { baseUrl: http://127.0.0.1:1/e, maxTasks: many }\ntopics: [{ topic: t }]`, path: 'engine.maxTasks' },
  { name: 'duration without unit', text: `engine: { baseUrl: http://127.0.0.1:1/e, lockDuration: 30 seconds }\ntopics: [{ topic: t }]`, path: 'engine.lockDuration' },
  { name: 'negative duration', text: `engine: { baseUrl: http://127.0.0.1:1/e, lockDuration: -5 }\ntopics: [{ topic: t }]`, path: 'engine.lockDuration' },
  { name: 'URL without scheme', text: `engine: { baseUrl: 127.0.0.1:8080 }\ntopics: [{ topic: t }]`, path: 'engine.baseUrl' },
  { name: 'URL with password', text: `engine: { baseUrl: 'http://u:p@127.0.0.1:8080/e' }\ntopics: [{ topic: t }]`, path: 'engine.baseUrl' },
  { name: 'unknown method', text: `${BASE}topics: [{ topic: t, service: inventory, method: FETCH }]`, path: 'topics[0].method' },
  { name: 'path without slash', text: `${BASE}topics: [{ topic: t, service: inventory, path: reserve }]`, path: 'topics[0].path' },
  { name: 'service and handler', text: `${BASE}topics: [{ topic: t, service: inventory, handler: x.ts }]`, path: 'topics[0]' },
  { name: 'status key out of range', text: `${BASE}topics: [{ topic: t, service: inventory, errors: { 700: X } }]`, path: 'topics[0].errors.700' },
  { name: 'error code with space', text: `${BASE}topics: [{ topic: t, service: inventory, errors: { 409: OUT OF STOCK } }]`, path: 'topics[0].errors.409' },
  { name: 'unknown auth type', text: `engine: { baseUrl: http://127.0.0.1:1/e }\nservices: { s: { baseUrl: http://127.0.0.1:2, auth: { type: digest } } }\ntopics: [{ topic: t }]`, path: 'services.s.auth.type' },
  { name: 'bad service name', text: `engine: { baseUrl: http://127.0.0.1:1/e }\nservices: { 'in ventory': { baseUrl: http://127.0.0.1:2 } }\ntopics: [{ topic: t }]`, path: 'services["in ventory"]' },
  { name: 'redis URL scheme', text: `${BASE}topics: [{ topic: t, service: inventory }]\ncache: { redis: { url: http://127.0.0.1:6379 } }`, path: 'cache.redis.url' },
  { name: 'sample ratio above 1', text: `${BASE}topics: [{ topic: t, service: inventory }]\ntelemetry: { tracing: { sampleRatio: 2 } }`, path: 'telemetry.tracing.sampleRatio' },
  { name: 'log level', text: `${BASE}topics: [{ topic: t, service: inventory }]\nlogging: { level: verbose }`, path: 'logging.level' },
];

/** Files that both must accept: the forms the loader converts before it checks them. */
const GOOD_FILES: { name: string; text: string; env: NodeJS.ProcessEnv }[] = [
  { name: 'lower-case method', text: `${BASE}topics: [{ topic: t, service: inventory, method: put }]`, env: {} },
  { name: 'number as string', text: `engine: { baseUrl: http://127.0.0.1:1/e, maxTasks: '25', extendLockAt: '0.6' }\ntopics: [{ topic: t }]`, env: {} },
  {
    name: 'references in checked values',
    text: `engine: { baseUrl: '\${ENGINE_URL}', maxTasks: '\${MAX_TASKS}', lockDuration: '\${LOCK:-1m}', workerId: '\${HOSTNAME}' }\ntopics: [{ topic: t }]`,
    env: { ENGINE_URL: 'http://127.0.0.1:1/e', MAX_TASKS: '5', HOSTNAME: 'worker-1' },
  },
  { name: 'durations in every form', text: `engine: { baseUrl: http://127.0.0.1:1/e, lockDuration: 1.5m, asyncResponseTimeout: 0, pollInterval: '250' }\ntopics: [{ topic: t }]`, env: {} },
];

describe('config JSON Schema', () => {
  test('committed files are current', () => {
    for (const file of generatedConfigFiles()) {
      const committed = readFileSync(resolve(file.path), 'utf8');
      // On failure: run `npm run schema` and commit the result.
      expect({ file: file.path, content: committed }).toEqual({ file: file.path, content: file.content });
    }
  });

  test('every key has a description', () => {
    expect(undocumentedKeys(buildConfigJsonSchema('0.0.0'))).toEqual([]);
  });

  test.each(EXAMPLES)('accepts $file', ({ file, env }) => {
    const text = readFileSync(file, 'utf8');

    expect(schemaErrors(text)).toEqual([]);
    expect(validatorErrors(text, env, file)).toEqual([]);
  });

  test('accepts the ConfigMap configuration', () => {
    const configMap = parseYaml(readFileSync('deploy/kubernetes/configmap.yaml', 'utf8')) as { data: Record<string, string> };
    const text = configMap.data['config.yaml'] ?? '';

    expect(schemaErrors(text)).toEqual([]);
    expect(validatorErrors(text, CONFIG_MAP_ENV)).toEqual([]);
  });

  test.each(EXAMPLES)('$file names the schema', ({ file }) => {
    const [firstLine] = readFileSync(file, 'utf8').split('\n');
    const match = /^# yaml-language-server: \$schema=(\S+)$/.exec(firstLine ?? '');

    expect(match).not.toBeNull();
    expect(resolve(dirname(file), match?.[1] ?? '')).toBe(SCHEMA_FILE);
  });

  test.each(BAD_FILES)('rejects $name like validate', ({ text, path }) => {
    const fromValidator = validatorErrors(text);
    const fromSchema = schemaErrors(text);

    expect(fromValidator).toContain(path);
    expect(atOrBelow(fromSchema, path)).not.toEqual([]);
  });

  test.each(GOOD_FILES)('accepts $name like validate', ({ text, env }) => {
    expect(validatorErrors(text, env)).toEqual([]);
    expect(schemaErrors(text)).toEqual([]);
  });
});

describe('config reference', () => {
  test('lists every top-level key', () => {
    const reference = readFileSync(join('docs', 'config-reference.md'), 'utf8');
    const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as { properties: Record<string, unknown> };

    for (const key of Object.keys(schema.properties)) {
      expect(reference).toContain(`## \`${key}\``);
    }
  });
});

/**
 * `npm run schema`: writes config/schema.json and docs/config-reference.md
 * from src/config/schema.ts. Run it after every change to the schema; a test
 * fails while the committed files differ from what this writes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { renderConfigReference } from './config-reference.ts';
import { buildConfigJsonSchema, formatSchemaFile, undocumentedKeys } from './config-schema.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Renders the generated files; each path is relative to the repository root. */
export function generatedConfigFiles(): { path: string; content: string }[] {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const schema = buildConfigJsonSchema(version);
  return [
    { path: 'config/schema.json', content: formatSchemaFile(schema) },
    { path: 'docs/config-reference.md', content: renderConfigReference(schema) },
  ];
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = generatedConfigFiles();
  for (const file of files) {
    writeFileSync(join(root, file.path), file.content);
    process.stdout.write(`wrote ${file.path}\n`);
  }
  const missing = undocumentedKeys(buildConfigJsonSchema('0.0.0'));
  if (missing.length > 0) {
    process.stderr.write(`warning: keys without a description in src/config/schema.ts: ${missing.join(', ')}\n`);
  }
}

/**
 * The committed API reference (docs/api/) must match what `npm run docs:api`
 * writes from the current TSDoc comments.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { generateApiDocs } from '../../deploy/scripts/generate-api-docs.ts';

/** Reads every file of a folder into a map from name to text. */
function readFolder(folder: string): Record<string, string> {
  return Object.fromEntries(readdirSync(folder).sort().map((name) => [name, readFileSync(join(folder, name), 'utf8')]));
}

describe('API reference', () => {
  let output: string;

  beforeAll(() => {
    output = join(mkdtempSync(join(tmpdir(), 'router-api-docs-')), 'api');
    generateApiDocs(output);
  }, 120_000);

  afterAll(() => {
    rmSync(output, { recursive: true, force: true });
  });

  test('committed pages are current', () => {
    // On failure: run `npm run docs:api` and commit docs/api/.
    expect(readFolder('docs/api')).toEqual(readFolder(output));
  });

  test('lists the orchestrator and the config loader', () => {
    const index = readFileSync(join(output, 'bpmn-task-router.md'), 'utf8');

    expect(index).toContain('[ServiceOrchestrator](./bpmn-task-router.serviceorchestrator.md)');
    expect(index).toContain('[parseConfig(text, options)](./bpmn-task-router.parseconfig.md)');
  });
});

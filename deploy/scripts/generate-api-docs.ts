/**
 * `npm run docs:api`: writes the library API reference under docs/api/ from
 * the TSDoc comments of the package's exports. tsc emits the declarations
 * into .tmp/api/dts, API Extractor reads them into a doc model, and API
 * Documenter renders one Markdown page per exported item.
 *
 * API Extractor brings its own TypeScript (6.x) to read the declarations,
 * so it works while the repository compiles with TypeScript 7, which
 * TypeDoc does not support yet.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = (name: string) => join(root, 'node_modules/.bin', name);

/** Writes the API reference into `outputDir`; returns the warnings of API Extractor and API Documenter. */
export function generateApiDocs(outputDir: string): string {
  const work = join(root, '.tmp/api');
  rmSync(work, { recursive: true, force: true });
  rmSync(outputDir, { recursive: true, force: true });

  const run = (command: string, args: string[]) => execFileSync(command, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  run(bin('tsc'), ['-p', 'tsconfig.build.json', '--emitDeclarationOnly', '--outDir', join(work, 'dts')]);
  const extractor = run(bin('api-extractor'), ['run', '--local']);
  const documenter = run(bin('api-documenter'), ['markdown', '--input-folder', join(work, 'model'), '--output-folder', outputDir]);
  return [extractor, documenter].join('\n').split('\n').filter((line) => /warning/i.test(line)).join('\n');
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const warnings = generateApiDocs(join(root, 'docs/api'));
  process.stdout.write('wrote docs/api/\n');
  if (warnings !== '') {
    process.stderr.write(`${warnings}\n`);
  }
}

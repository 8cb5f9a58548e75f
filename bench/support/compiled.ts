/**
 * Compiles the project to JavaScript for memory measurements. Running the
 * TypeScript sources makes Node load its type stripper, which adds about
 * 28 MB of RSS (Node 24.21) that a process running compiled JavaScript,
 * as an installed package does, never pays.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Under node_modules/ so that the compiled files resolve the project's dependencies by walking up.
const OUT_DIR = join(ROOT, 'node_modules', '.cache', 'bpmn-task-router', 'bench-build');

let compiled = false;

/** Returns the path of the compiled JavaScript of `sourceFile` (a .ts path), compiling the project on the first call. */
export function compiledScript(sourceFile: string): string {
  if (!compiled) {
    rmSync(OUT_DIR, { recursive: true, force: true });
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.json'), '--noEmit', 'false', '--outDir', OUT_DIR, '--rootDir', ROOT], {
      encoding: 'utf8',
    });
    if (result.status !== 0) {
      throw new Error(`compiling the project for the benchmark failed (tsc exited with ${result.status}):\n${result.stdout}${result.stderr}`);
    }
    compiled = true;
  }
  return join(OUT_DIR, relative(ROOT, sourceFile)).replace(/\.ts$/, '.js');
}

/**
 * The BPMN corpus the benchmarks read: the folder of real-world files with
 * MANIFEST.csv, found beside the repository, or at BPMN_CORPUS_DIR when
 * that variable is set.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseDefinition } from '../../src/definitions/bpmn-extractor.ts';
import { decodeXml } from '../../src/definitions/xml-encoding.ts';

const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));

/** Folders searched for the corpus, in order. */
export const CORPUS_CANDIDATES: readonly string[] = process.env.BPMN_CORPUS_DIR
  ? [process.env.BPMN_CORPUS_DIR]
  : [join(REPOSITORY, '..', 'shared', 'corpus', 'bpmn'), '/work/shared/corpus/bpmn'];

/** A corpus file decoded to text, with its UTF-8 size. */
export interface CorpusInput {
  name: string;
  text: string;
  bytes: number;
}

/** Returns the corpus folder, or undefined when no candidate has a MANIFEST.csv. */
export function findCorpus(): string | undefined {
  return CORPUS_CANDIDATES.find((candidate) => existsSync(join(candidate, 'MANIFEST.csv')));
}

/** Returns the corpus folder; throws naming the folders searched when there is none. */
export function requireCorpus(): string {
  const found = findCorpus();
  if (found === undefined) {
    throw new Error(`BPMN corpus not found: no MANIFEST.csv in ${CORPUS_CANDIDATES.join(' or ')}; set BPMN_CORPUS_DIR to its folder`);
  }
  return found;
}

/** Picks the `count` largest corpus files that our extractor accepts, decoded once so that every parser gets the same text. */
export function largestCorpusInputs(corpus: string, count: number): CorpusInput[] {
  const files = readdirSync(corpus, { recursive: true, encoding: 'utf8' })
    .filter((file) => !file.endsWith('.csv') && !file.endsWith('.md') && statSync(join(corpus, file)).isFile())
    .map((file) => ({ file, size: statSync(join(corpus, file)).size }))
    .sort((left, right) => right.size - left.size || (left.file < right.file ? -1 : 1));

  const inputs: CorpusInput[] = [];
  for (const { file } of files) {
    if (inputs.length === count) {
      break;
    }
    const bytes = readFileSync(join(corpus, file));
    try {
      parseDefinition(bytes);
    } catch {
      continue;
    }
    const text = decodeXml(bytes);
    inputs.push({ name: file, text, bytes: Buffer.byteLength(text) });
  }
  return inputs;
}

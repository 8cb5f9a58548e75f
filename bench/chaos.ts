/**
 * Chaos run of the daemon against the real bundled engine, the real Redis
 * and a faulty downstream service; bench/chaos/run.ts describes the
 * scenario and its checks. Prints the figures, writes them to
 * bench/results/chaos.json (or --out FILE), and exits 1 when an instance
 * did not end, a task was lost, a delivery repeated without a lost lock, or
 * an incident appeared.
 *
 * Run: npm run chaos                      (2,000 instances)
 *      npm run chaos -- --instances 100   (a smaller run)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { chaosPassed, runChaos } from './chaos/run.ts';

const here = dirname(fileURLToPath(import.meta.url));

const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '2000' },
    seed: { type: 'string' },
    out: { type: 'string' },
  },
});

const instances = Number(values.instances);
if (!Number.isInteger(instances) || instances < 1 || instances > 100_000) {
  process.stderr.write(`--instances is ${JSON.stringify(values.instances)}; expected an integer from 1 to 100000\n`);
  process.exit(2);
}
const seed = values.seed === undefined ? undefined : Number(values.seed);
if (seed !== undefined && !Number.isInteger(seed)) {
  process.stderr.write(`--seed is ${JSON.stringify(values.seed)}; expected an integer\n`);
  process.exit(2);
}
const outFile = values.out === undefined ? join(here, 'results', 'chaos.json') : resolve(values.out);

const result = await runChaos({
  instances,
  seed,
  progress: (line) => process.stderr.write(`chaos: ${line}\n`),
});
// The work folder is a local path, so it goes to the progress output rather than the committed record.
const { workDir, ...figures } = result;
process.stderr.write(`chaos: engine database, logs and deliveries are in ${workDir}\n`);
const record = {
  ...figures,
  passed: chaosPassed(result),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', kernel: release(), node: process.version },
  recordedAt: new Date().toISOString(),
};

mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, `${JSON.stringify(record, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
process.exitCode = record.passed ? 0 : 1;

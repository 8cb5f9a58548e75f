/**
 * `doctor FILE [--json]`: prints one line per check with its verdict, then a
 * summary; exits 1 when any check failed. `--json` prints the results as one
 * JSON document instead.
 */
import { parseArgs } from 'node:util';

import { runDoctor, type CheckResult } from '../doctor/doctor.ts';

const USAGE = 'usage: doctor FILE [--json]   (or doctor --config FILE)';

/** Width of the check-name column; longer names push their detail to the right. */
const NAME_WIDTH = 22;

/** Runs the command and returns its exit code: 0 nothing failed, 1 a check failed, 2 bad usage. */
export async function runDoctorCommand(args: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean', default: false } },
  });
  const files = [...(values.config === undefined ? [] : [values.config]), ...positionals];
  if (files.length !== 1) {
    err.write(`doctor: expected one configuration file, got ${files.length}\n${USAGE}\n`);
    return 2;
  }
  const [file] = files as [string];

  const results = await runDoctor(file, values.json ? {} : { onResult: (result) => out.write(`${formatLine(result)}\n`) });
  const failed = results.filter((result) => result.verdict === 'fail').length;
  const warnings = results.filter((result) => result.verdict === 'warn').length;

  if (values.json) {
    out.write(`${JSON.stringify({ file, ok: failed === 0, failed, warnings, checks: results }, null, 2)}\n`);
  } else {
    out.write(`\n${results.length} checks: ${failed} failed, ${warnings} ${warnings === 1 ? 'warning' : 'warnings'}\n`);
  }
  return failed === 0 ? 0 : 1;
}

function formatLine(result: CheckResult): string {
  return `${result.verdict.toUpperCase().padEnd(5)} ${result.name.padEnd(NAME_WIDTH)} ${result.detail}`;
}

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const cli = resolve('src/cli/main.ts');

/** What a command-line run printed and how it exited. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs src/cli/main.ts in a child process with the same Node. `onStdout` sees
 * the output so far after each chunk, and can send the child a signal.
 */
export function runCli(args: string[], onStdout?: (text: string, kill: (signal: NodeJS.Signals) => void) => void): Promise<CliRun> {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      onStdout?.(stdout, (signal) => child.kill(signal));
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', rejectRun);
    child.once('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

/** Writes configuration text to a new temporary file and returns its path. */
export function writeConfig(text: string, prefix = 'router-cli-'): string {
  const file = join(mkdtempSync(join(tmpdir(), prefix)), 'config.yaml');
  writeFileSync(file, text);
  return file;
}

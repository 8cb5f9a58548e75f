/**
 * Smoke run of the benchmark suite command (`--size small`) against the
 * shared engine, so the command cannot rot. It checks that every part ran
 * and wrote its keys; it asserts no timing, since speed is measured only by
 * the benchmark itself.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { engineUrl } from '../support/engine.ts';

const KEYS = [
  'repeatedWorkflowsSpeedupVsNaive',
  'batchSpeedupVsNaive',
  'throughputRatioVsBareClient',
  'throughputRatioVsRawLoop',
  'warmRouteP99Us',
  'parseThroughputRatioVsXml2js',
  'cpuPerTaskRatioVsBareUndici',
  'rssMbWith10kDefinitions',
  'soakRssGrowthPercent',
];

function runSuite(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(process.execPath, [resolve('bench/suite.ts'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', rejectRun);
    child.once('close', (code) => resolveRun({ code, stderr }));
  });
}

describe('benchmark suite command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-suite-'));
  const out = join(dir, 'suite.json');
  const docs = join(dir, 'benchmarks.md');
  let run: { code: number | null; stderr: string };

  beforeAll(async () => {
    run = await runSuite(['--size', 'small', '--soak-minutes', '0.2', '--engine-url', engineUrl(), '--out', out, '--docs', docs]);
  }, 600_000);

  test('exits with 0', () => {
    expect(run.stderr).toContain('wrote');
    expect(run.code).toBe(0);
  });

  test('reports progress of every part', () => {
    for (const part of ['scenarios:', 'throughput:', 'micro: warm routing', 'soak:']) {
      expect(run.stderr).toContain(part);
    }
  });

  test('writes every key as a positive number', () => {
    const results = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    for (const key of KEYS) {
      expect([key, typeof results[key]]).toEqual([key, 'number']);
    }
    for (const key of KEYS.filter((name) => name !== 'soakRssGrowthPercent')) {
      expect([key, (results[key] as number) > 0]).toEqual([key, true]);
    }
  });

  test('records scenarios for all three orchestrators', () => {
    const results = JSON.parse(readFileSync(out, 'utf8')) as { details: { scenarios: { medianMs: Record<string, Record<string, number>> } } };
    const scenarios = results.details.scenarios.medianMs;
    expect(Object.keys(scenarios).sort()).toEqual(['batch', 'fiveTaskWorkflow', 'largeBpmn', 'repeatedWorkflows', 'singleTask']);
    for (const row of Object.values(scenarios)) {
      expect(Object.keys(row).sort()).toEqual(['bareClient', 'naive', 'ours']);
    }
  });

  test('writes the docs section with goals', () => {
    const text = readFileSync(docs, 'utf8');
    expect(text).toContain('## Suite');
    expect(text).toContain('at least 10x');
    expect(text).toContain('npm run bench:suite');
  });
});

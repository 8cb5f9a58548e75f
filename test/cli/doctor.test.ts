import type { CheckResult } from '../../src/doctor/doctor.ts';
import { deployBpmn } from '../../src/demo/engine-rest.ts';
import { linearProcess } from '../support/bpmn.ts';
import { runCli, writeConfig } from '../support/cli.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';
import { freePort } from '../support/redis.ts';

/** Maps each check's name to its verdict. */
function verdicts(checks: readonly CheckResult[]): Record<string, string> {
  return Object.fromEntries(checks.map((check) => [check.name, check.verdict]));
}

/** Parses the text output: one `VERDICT name detail` line per check, then a blank line and the summary. */
function parseLines(stdout: string): CheckResult[] {
  const [checks = ''] = stdout.split('\n\n');
  return checks.split('\n').map((line) => {
    const match = /^(OK|WARN|FAIL|SKIP)\s+(.+?)\s{2,}(.*)$/.exec(line);
    if (match === null) {
      throw new Error(`not a check line: ${JSON.stringify(line)}`);
    }
    return { verdict: (match[1] as string).toLowerCase() as CheckResult['verdict'], name: match[2] as string, detail: match[3] as string };
  });
}

describe('doctor', () => {
  let orders: TestServer;
  let stock: TestServer;
  let downPort: number;
  let prefix: string;

  beforeAll(async () => {
    orders = await startTestServer((_request, response) => {
      response.end();
    });
    stock = await startTestServer((_request, response) => {
      response.statusCode = 404;
      response.end();
    });
    // A port that was free a moment ago: connecting to it is refused, as for a stopped service.
    downPort = await freePort();
    prefix = uniqueProcessKey('Doctor');
    await deployBpmn(engineUrl(), [{
      name: `${prefix}.bpmn`,
      xml: linearProcess(prefix, [
        { id: 'Validate', topic: `${prefix}-validate` },
        { id: 'Reserve', topic: `${prefix}-reserve` },
        { id: 'Charge', topic: `${prefix}-charge`, properties: { service: 'payments', path: '/charge' } },
      ]),
    }]);
  });

  afterAll(async () => {
    await orders.close();
    await stock.close();
  });

  function configText(extraTopics = ''): string {
    return `
engine: { baseUrl: ${engineUrl()}, requestTimeout: 10s }
services:
  orders: { baseUrl: ${orders.url}/orders }
  stock: { baseUrl: ${stock.url} }
  payments: { baseUrl: http://127.0.0.1:${downPort}/payments, timeout: 2s }
topics:
  - { topic: ${prefix}-validate, service: orders }
  - { topic: ${prefix}-reserve, service: stock }
  - { topic: ${prefix}-charge }
${extraTopics}`;
  }

  test('one service down fails that service only', async () => {
    const run = await runCli(['doctor', writeConfig(configText())]);
    const checks = parseLines(run.stdout);

    expect(run.code).toBe(1);
    expect(checks.filter((check) => check.verdict === 'fail').map((check) => check.name)).toEqual(['service payments']);
    expect(verdicts(checks)).toEqual({
      config: 'ok',
      engine: 'ok',
      'service orders': 'ok',
      'service stock': 'ok',
      'service payments': 'fail',
      redis: 'skip',
      topics: 'ok',
      routes: 'ok',
      tracing: 'skip',
      metrics: 'skip',
    });
    expect(checks.find((check) => check.name === 'service payments')?.detail).toContain(`127.0.0.1:${downPort}`);
    expect(checks.find((check) => check.name === 'engine')?.detail).toMatch(/^version \d+\.\d+/);
    expect(run.stdout).toContain('10 checks: 1 failed, 0 warnings');
  });

  test('json output lists the same checks', async () => {
    const run = await runCli(['doctor', '--json', '--config', writeConfig(configText())]);
    const report = JSON.parse(run.stdout) as { ok: boolean; failed: number; checks: CheckResult[] };

    expect(run.code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.failed).toBe(1);
    expect(report.checks.filter((check) => check.verdict === 'fail').map((check) => check.name)).toEqual(['service payments']);
  });

  test('topic without deployed activity warns', async () => {
    const run = await runCli(['doctor', writeConfig(configText(`  - { topic: ${prefix}-typo, service: orders }\n`))]);
    const topics = parseLines(run.stdout).find((check) => check.name === 'topics');

    expect(topics?.verdict).toBe('warn');
    expect(topics?.detail).toContain(`(${prefix}-typo)`);
  });

  test('unrouted activity of a served process fails', async () => {
    const text = configText().replace(`  - { topic: ${prefix}-reserve, service: stock }\n`, '');
    const run = await runCli(['doctor', writeConfig(text)]);
    const routes = parseLines(run.stdout).find((check) => check.name === 'routes');

    expect(run.code).toBe(1);
    expect(routes?.verdict).toBe('fail');
    expect(routes?.detail).toContain(`1 external-task activities of served processes have no route: ${prefix}/Reserve (topic ${prefix}-reserve has no entry under topics)`);
  });

  test('engine down skips the deployment checks', async () => {
    const port = await freePort();
    const text = configText().replace(engineUrl(), `http://127.0.0.1:${port}/engine-rest`);
    const run = await runCli(['doctor', writeConfig(text)]);

    expect(run.code).toBe(1);
    expect(verdicts(parseLines(run.stdout))).toMatchObject({ engine: 'fail', topics: 'skip', routes: 'skip' });
  });

  test('invalid configuration stops after the config check', async () => {
    const run = await runCli(['doctor', writeConfig('engine: { baseUrl: http://127.0.0.1:1/e, maxTasks: 0 }\ntopics: [{ topic: t }]\n')]);

    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^FAIL  config\s+invalid configuration \(1 problem\):/);
    expect(run.stdout).toContain('engine.maxTasks: received 0, expected an integer from 1 to 1000');
    expect(run.stdout).toContain('SKIP  others');
  });
});

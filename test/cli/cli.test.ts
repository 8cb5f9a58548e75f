import { runCli, writeConfig } from '../support/cli.ts';
import { engineUrl } from '../support/engine.ts';

describe('command line', () => {
  test('validate accepts the example configuration', async () => {
    const run = await runCli(['validate', 'config/examples/order-flow.yaml']);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('valid (6 services, 10 topics)');
  });

  test('validate rejects a bad file with key paths', async () => {
    const file = writeConfig('engine: { baseUrl: http://127.0.0.1:1/engine-rest, maxTasks: -1 }\ntopics: [{ topic: t, service: nowhere }]\n');
    const run = await runCli(['validate', file]);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('engine.maxTasks: received -1, expected an integer from 1 to 1000');
    expect(run.stderr).toContain(`${file}:1:`);
  });

  test('start refuses an invalid file before connecting', async () => {
    const file = writeConfig('engine: { baseUrl: not-a-url }\ntopics: [{ topic: t }]\n');
    const run = await runCli(['start', '--config', file]);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('engine.baseUrl');
  });

  test('mistyped option prints usage without a stack', async () => {
    const run = await runCli(['start', '--confg', 'x.yaml']);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Unknown option '--confg'");
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  test('validate checks every file named', async () => {
    const bad = writeConfig('topics: [{ topic: t }]\n');
    const run = await runCli(['validate', 'config/examples/order-flow.yaml', bad]);

    expect(run.code).toBe(1);
    expect(run.stdout).toContain('order-flow.yaml: valid');
    expect(run.stderr).toContain('engine: received nothing');
  });

  test('unknown command prints usage', async () => {
    const run = await runCli(['launch']);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown command "launch"');
  });

  test('start runs until SIGTERM and logs state changes', async () => {
    const file = writeConfig(`
engine: { baseUrl: ${engineUrl()}, asyncResponseTimeout: 1s }
services: { backend: { baseUrl: http://127.0.0.1:9 } }
topics: [{ topic: cli-test-unused, service: backend }]
`);
    let signalled = false;
    const run = await runCli(['start', '--config', file], (stdout, kill) => {
      if (!signalled && stdout.includes('"state":"running"')) {
        signalled = true;
        kill('SIGTERM');
      }
    });

    const states = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as { state?: string; level: string })
      .filter((entry) => entry.state !== undefined)
      .map((entry) => entry.state);
    expect(run.code).toBe(0);
    expect(states).toEqual(['running', 'stopping', 'stopped']);
  });
});

import type { ActivityView, InspectReport } from '../../src/cli/inspect.ts';
import { runCli, writeConfig, type CliRun } from '../support/cli.ts';

const ORDER_PROCESS = 'config/examples/order-process.bpmn';
const ORDER_CONFIG = 'config/examples/order-flow.yaml';

function activityOf(report: InspectReport, id: string): ActivityView {
  const activity = report.activities.find((candidate) => candidate.id === id);
  if (activity === undefined) {
    throw new Error(`activity ${id} missing; present: ${report.activities.map((candidate) => candidate.id).join(', ')}`);
  }
  return activity;
}

/** Checks that stderr is exactly one line without a stack trace. */
function expectOneLineError(run: CliRun): void {
  expect(run.stderr.endsWith('\n')).toBe(true);
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(run.stdout).toBe('');
}

describe('inspect command', () => {
  test('text shows routes, properties and next', async () => {
    const run = await runCli(['inspect', ORDER_PROCESS, '--config', ORDER_CONFIG]);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${ORDER_PROCESS}: 1 process, 17 activities (routes resolved with ${ORDER_CONFIG})`);
    expect(run.stdout).toContain('  charge-payment  serviceTask "Charge payment"\n');
    expect(run.stdout).toContain('    properties  service=payments, path=/charge, method=POST, variables=orderId,orderTotalCents,paymentToken, errors=402=PAYMENT_DECLINED\n');
    expect(run.stdout).toContain('    route       POST payments /charge (variables: orderId, orderTotalCents, paymentToken; errors: 402=PAYMENT_DECLINED)\n');
    expect(run.stdout).toContain('    boundary    payment-declined (error PAYMENT_DECLINED) -> release-stock\n');
    expect(run.stdout).toContain('    route       POST inventory /reserve (variables: orderId, items; errors: 409=OUT_OF_STOCK)\n');
    expect(run.stdout).toContain('    calls       ship-order\n');
  });

  test('json matches the daemon route', async () => {
    const run = await runCli(['inspect', ORDER_PROCESS, '--config', ORDER_CONFIG, '--json']);
    const report = JSON.parse(run.stdout) as InspectReport;

    expect(run.code).toBe(0);
    expect(report.config).toBe(ORDER_CONFIG);
    expect(report.processes).toEqual([{ id: 'order-process', name: 'Order process', isExecutable: true, versionTag: '1.0' }]);
    const charge = activityOf(report, 'charge-payment');
    expect(charge.route).toEqual({
      kind: 'http',
      service: 'payments',
      path: '/charge',
      method: 'POST',
      variables: ['orderId', 'orderTotalCents', 'paymentToken'],
      resultVariable: null,
      errors: { 402: 'PAYMENT_DECLINED' },
    });
    expect(charge.next).toEqual(['ship-order']);
    expect(charge.boundaryEvents).toEqual([{ id: 'payment-declined', type: 'boundaryEvent', errorCode: 'PAYMENT_DECLINED', next: ['release-stock'] }]);
    expect(activityOf(report, 'reserve-stock').route).toMatchObject({ service: 'inventory', path: '/reserve', errors: { 409: 'OUT_OF_STOCK' } });
    expect(activityOf(report, 'shipping-method').next).toEqual(['shipping-method-joined', 'prioritize-order']);
    expect(activityOf(report, 'shipping-method').route).toBeNull();
  });

  test('without config routes come from properties', async () => {
    const run = await runCli(['inspect', ORDER_PROCESS, '--json']);
    const report = JSON.parse(run.stdout) as InspectReport;

    expect(run.code).toBe(0);
    expect(report.config).toBeNull();
    expect(activityOf(report, 'charge-payment').route).toMatchObject({ service: 'payments', path: '/charge', errors: { 402: 'PAYMENT_DECLINED' } });
    expect(activityOf(report, 'validate-order').route).toEqual({
      kind: 'http', service: null, path: '/', method: 'POST', variables: 'all', resultVariable: null, errors: {},
    });
    expect(activityOf(report, 'validate-order').routeError).toBeNull();
  });

  test('without config text says so', async () => {
    const run = await runCli(['inspect', ORDER_PROCESS]);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('(routes from activity properties only)');
    expect(run.stdout).toContain('    route       POST (no service) / (variables: all)\n');
  });

  test('unconfigured topic and unknown service reported', async () => {
    const config = writeConfig(`
engine: { baseUrl: http://127.0.0.1:9/engine-rest }
services: { orders: { baseUrl: http://127.0.0.1:9 } }
topics:
  - { topic: validate-order, service: orders }
  - { topic: charge-payment, service: orders }
`);
    const run = await runCli(['inspect', ORDER_PROCESS, '--config', config, '--json']);
    const report = JSON.parse(run.stdout) as InspectReport;

    expect(run.code).toBe(0);
    expect(activityOf(report, 'validate-order').route).toMatchObject({ service: 'orders', path: '/' });
    expect(activityOf(report, 'reserve-stock').routeError).toBe('topic "reserve-stock" is not configured, so the daemon does not fetch its tasks');
    expect(activityOf(report, 'charge-payment').routeError).toMatch(/^service "payments" named by activity "charge-payment" \(topic "charge-payment"\) is not declared/);
  });

  test.each([
    ['truncated', 'test/fixtures/bpmn/truncated.bpmn', 'invalid BPMN (ERR_BPMN_MALFORMED): BPMN XML is not well-formed at line 9'],
    ['DOCTYPE', 'test/fixtures/bpmn/billion-laughs.bpmn', 'invalid BPMN (ERR_BPMN_DOCTYPE)'],
    ['not BPMN', 'test/fixtures/bpmn/not-bpmn-root.bpmn', 'invalid BPMN (ERR_BPMN_NOT_BPMN)'],
    ['invalid UTF-8', 'test/fixtures/bpmn/invalid-utf8.bpmn', 'invalid BPMN (ERR_BPMN_MALFORMED): invalid UTF-8 byte 0xfc at line 4'],
  ])('%s file rejected on one line', async (_name, file, message) => {
    const run = await runCli(['inspect', file]);

    expect(run.code).toBe(1);
    expectOneLineError(run);
    expect(run.stderr).toContain(`inspect: ${file}: ${message}`);
  });

  test('size limit from config applies', async () => {
    const config = writeConfig('engine: { baseUrl: http://127.0.0.1:9/engine-rest }\ntopics: [{ topic: t }]\ndefinitions: { maxBytes: 1024 }\n');
    const run = await runCli(['inspect', ORDER_PROCESS, '--config', config]);

    expect(run.code).toBe(1);
    expectOneLineError(run);
    expect(run.stderr).toMatch(/invalid BPMN \(ERR_BPMN_LIMIT\): the file is larger than the maxBytes limit of 1024 bytes/);
  });

  test('missing file rejected on one line', async () => {
    const run = await runCli(['inspect', 'no/such/file.bpmn']);

    expect(run.code).toBe(1);
    expectOneLineError(run);
    expect(run.stderr).toBe('inspect: cannot read no/such/file.bpmn: ENOENT\n');
  });

  test.each([
    ['no file', []],
    ['two files', [ORDER_PROCESS, ORDER_PROCESS]],
    ['unknown option', [ORDER_PROCESS, '--yaml']],
  ])('%s is a usage error', async (_name, args) => {
    const run = await runCli(['inspect', ...args]);

    expect(run.code).toBe(2);
    expectOneLineError(run);
    expect(run.stderr).toContain('usage: inspect FILE [--config CONFIG] [--json]');
  });

  test('endless input stops at the size limit', async () => {
    const run = await runCli(['inspect', '/dev/zero']);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('ERR_BPMN_LIMIT');
    expect(run.stderr).toContain('definitions.maxBytes');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});

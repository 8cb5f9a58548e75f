/**
 * The Camunda 8 example (config/examples/camunda8-order-flow.yaml and
 * camunda8-payment.bpmn) end to end: the daemon against the REST protocol
 * fake, routing to the real example service.
 */
import { readFileSync } from 'node:fs';

import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';

import { loadConfigFile } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { startExampleService, type ExampleService } from '../../src/demo/example-service.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { waitUntil } from '../support/camunda8-bpmn.ts';
import { startCamunda8ProtocolFake, type Camunda8ProtocolFake } from '../support/camunda8-protocol-fake.ts';

const CONFIG = 'config/examples/camunda8-order-flow.yaml';
const BPMN = readFileSync('config/examples/camunda8-payment.bpmn', 'utf8');

let fake: Camunda8ProtocolFake;
let service: ExampleService;
let daemon: Daemon;

beforeEach(async () => {
  fake = await startCamunda8ProtocolFake();
  service = await startExampleService({ host: '127.0.0.1', port: 0 });
  const config = loadConfigFile(CONFIG, { ENGINE_URL: fake.url, SERVICE_URL: service.url });
  daemon = new Daemon({ config, logger: silentLogger() });
  daemon.start();
});

afterEach(async () => {
  await daemon.stop(0);
  await service.stop();
  expect(fake.violations).toEqual([]);
  await fake.close();
});

describe('camunda 8 example', () => {
  test('charges, declines and sends a receipt', async () => {
    const definition = fake.broker.deploy('camunda8-payment', BPMN);
    const charged = fake.broker.createJob(definition, {
      elementId: 'charge-payment',
      type: 'charge-payment',
      variables: { orderId: 'o-1', orderTotalCents: 3998, paymentToken: 'tok_visa', customerEmail: 'a@example.com' },
    });
    const declined = fake.broker.createJob(definition, {
      elementId: 'charge-payment',
      type: 'charge-payment',
      variables: { orderId: 'o-2', orderTotalCents: 1999, paymentToken: 'tok_declined' },
    });
    const receipt = fake.broker.createJob(definition, {
      elementId: 'send-receipt',
      type: 'send-receipt',
      variables: { orderId: 'o-1', recipient: 'a@example.com', template: 'payment-receipt', trackingNumber: 'PAY-o-1' },
    });

    await waitUntil('every job has ended', () => [charged, declined, receipt].every((job) => job.state !== 'activatable' && job.state !== 'activated'));

    expect(charged.completedWith).toEqual({ paymentId: 'PAY-o-1' });
    expect(declined.thrownError).toMatchObject({ errorCode: 'PAYMENT_DECLINED', variables: { declineReason: 'card_declined' } });
    expect(receipt.completedWith).toEqual({ confirmationId: 'CNF-o-1' });
  });
});

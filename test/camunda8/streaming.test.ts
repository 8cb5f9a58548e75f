/**
 * gRPC job streaming: the daemon with `engine.streaming` against the gRPC
 * protocol fake (built from the SDK's gateway proto) and the REST fake,
 * which share one set of jobs.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';

import type { Daemon } from '../../src/daemon/daemon.ts';
import { zeebeProcess, waitUntil } from '../support/camunda8-bpmn.ts';
import { startCamunda8GrpcFake, type Camunda8GrpcFake } from '../support/camunda8-grpc-fake.ts';
import { startCamunda8ProtocolFake, type Camunda8ProtocolFake } from '../support/camunda8-protocol-fake.ts';
import { startDaemon } from '../support/daemon.ts';
import { sendJson, startTestServer, type TestServer } from '../support/http-server.ts';

let fake: Camunda8ProtocolFake;
let grpcFake: Camunda8GrpcFake;
let service: TestServer;
let daemon: Daemon | undefined;
let delayMs = 0;

beforeEach(async () => {
  fake = await startCamunda8ProtocolFake();
  grpcFake = await startCamunda8GrpcFake(fake.broker);
  delayMs = 0;
  service = await startTestServer(async (_request, response) => {
    await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
    sendJson(response, 200, { variables: { shipped: true } });
  });
});

afterEach(async () => {
  await daemon?.stop(0);
  daemon = undefined;
  await service.close();
  await grpcFake.close();
  expect(fake.violations).toEqual([]);
  expect(grpcFake.violations).toEqual([]);
  await fake.close();
});

function config(options: { maxTasks?: number; maxConcurrent?: number; lockDuration?: string } = {}): string {
  return `
engine:
  type: camunda8
  baseUrl: ${fake.url}
  workerId: router-stream
  maxTasks: ${options.maxTasks ?? 10}
  lockDuration: ${options.lockDuration ?? '30s'}
  asyncResponseTimeout: 5s
  streaming:
    grpcAddress: ${grpcFake.address}
services:
  shipping:
    baseUrl: ${service.url}
    maxConcurrent: ${options.maxConcurrent ?? 10}
topics:
  - topic: ship
    service: shipping
    path: /ship
`;
}

const PROCESS = zeebeProcess('shipment', [{ id: 'Ship', type: 'ship' }]);

describe('job streaming', () => {
  test('streamed jobs are completed', async () => {
    const definition = fake.broker.deploy('shipment', PROCESS);
    daemon = startDaemon('camunda8-stream', config());
    await waitUntil('the stream is open', () => fake.broker.streamCount === 1);

    const jobs = [0, 1, 2].map(() => fake.broker.createJob(definition, { elementId: 'Ship', type: 'ship', variables: { parcel: 'p-1' } }));
    await waitUntil('every streamed job is completed', () => jobs.every((job) => job.state === 'completed'));

    expect(jobs.every((job) => job.completedWith?.shipped === true)).toBe(true);
    expect(jobs.every((job) => job.worker === 'router-stream')).toBe(true);
    // The jobs came over the stream, not from a REST long poll: each was activated once, and every REST activation returned at once.
    expect(jobs.every((job) => job.activations === 1)).toBe(true);
    expect(fake.requests.filter((request) => request.path === '/v2/jobs/activation').every((request) => (request.body as { requestTimeout: number }).requestTimeout === -1)).toBe(true);
  });

  test('a full buffer pauses the stream', async () => {
    const definition = fake.broker.deploy('shipment', PROCESS);
    delayMs = 500;
    daemon = startDaemon('camunda8-stream-pause', config({ maxTasks: 2, maxConcurrent: 1, lockDuration: '2s' }));
    await waitUntil('the stream is open', () => fake.broker.streamCount === 1);

    const jobs = [0, 1, 2, 3, 4, 5].map(() => fake.broker.createJob(definition, { elementId: 'Ship', type: 'ship' }));
    await waitUntil('the stream paused', () => fake.broker.streamCount === 0);
    // Jobs sent on a stream as it closes come back after their 2 s timeout.
    await waitUntil('every job is completed', () => jobs.every((job) => job.state === 'completed'), 20_000);

    expect(grpcFake.streamsOpened).toBeGreaterThan(1);
    expect(jobs.every((job) => job.failures.length === 0 && job.retries === 3)).toBe(true);
    // A job that waited in the buffer beyond a tenth of its 2 s lock had its timeout renewed before it was handed out.
    expect(jobs.some((job) => job.timeoutUpdates.includes(2_000))).toBe(true);
  });

  test('shutdown gives back buffered jobs', async () => {
    const definition = fake.broker.deploy('shipment', PROCESS);
    delayMs = 5_000;
    daemon = startDaemon('camunda8-stream-stop', config({ maxConcurrent: 1 }));
    await waitUntil('the stream is open', () => fake.broker.streamCount === 1);
    const jobs = [0, 1, 2].map(() => fake.broker.createJob(definition, { elementId: 'Ship', type: 'ship', retries: 2 }));
    await waitUntil('a job reached the service', () => service.requests.length === 1);

    await daemon.stop(100);

    expect(jobs.map((job) => [job.state, job.retries])).toEqual([['activatable', 2], ['activatable', 2], ['activatable', 2]]);
    expect(jobs.every((job) => job.failures.every((failure) => failure.retries === 2 && failure.retryBackOff === 0))).toBe(true);
    expect(fake.broker.streamCount).toBe(0);
  });
});

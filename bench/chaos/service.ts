/**
 * The downstream service of the chaos run: a real HTTP server on
 * 127.0.0.1, port 0, that records every request it receives and injects
 * faults. A seeded generator decides each request's fate, so a run with the
 * same seed injects the same share of faults.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { seededRandom } from '../support/process-simulator.ts';

/** One request the service received, with the answer it sent. */
export interface Delivery {
  taskId: string;
  /** The `idempotency-key` header as received. */
  idempotencyKey: string;
  /** `task.workerId` of the request body: the daemon process that sent it. */
  workerId: string;
  path: string;
  receivedAt: number;
  /** Status sent back; undefined while the answer is pending or when the client went away first. */
  status: number | undefined;
  answeredAt: number | undefined;
  /** The fault injected into this request. */
  fault: 'none' | 'http-500' | 'http-503' | 'delay';
}

export interface ChaosServiceOptions {
  /** Share of requests answered with HTTP 500 or 503 (half each). @default 0.1 */
  errorRate?: number;
  /** Share of requests answered only after `delayMs`. @default 0.05 */
  delayRate?: number;
  /** Delay of a delayed request, in ms; the run sets it beyond the lock duration. */
  delayMs: number;
  /** Seed of the fault generator. */
  seed: number;
}

export interface ChaosService {
  readonly url: string;
  readonly deliveries: readonly Delivery[];
  close(): Promise<void>;
}

/** Starts the service on 127.0.0.1 with a free port. */
export async function startChaosService(options: ChaosServiceOptions): Promise<ChaosService> {
  const errorRate = options.errorRate ?? 0.1;
  const delayRate = options.delayRate ?? 0.05;
  const random = seededRandom(options.seed);
  const deliveries: Delivery[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const answer = (delivery: Delivery, response: ServerResponse, status: number, body: unknown): void => {
    if (response.destroyed) {
      return;
    }
    delivery.status = status;
    delivery.answeredAt = Date.now();
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };

  const handle = (request: IncomingMessage, response: ServerResponse, text: string): void => {
    const parsed = parseBody(text);
    const delivery: Delivery = {
      taskId: parsed.taskId,
      idempotencyKey: String(request.headers['idempotency-key'] ?? ''),
      workerId: parsed.workerId,
      path: request.url ?? '',
      receivedAt: Date.now(),
      status: undefined,
      answeredAt: undefined,
      fault: 'none',
    };
    deliveries.push(delivery);

    const draw = random();
    if (draw < errorRate) {
      const status = draw < errorRate / 2 ? 500 : 503;
      delivery.fault = status === 500 ? 'http-500' : 'http-503';
      answer(delivery, response, status, { message: `injected HTTP ${status}` });
      return;
    }

    const result = { variables: { [`handled${request.url === '/a' ? 'A' : 'B'}`]: true } };
    if (draw < errorRate + delayRate) {
      delivery.fault = 'delay';
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer(delivery, response, 200, result);
      }, options.delayMs);
      timers.add(timer);
      return;
    }
    answer(delivery, response, 200, result);
  };

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => handle(request, response, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    close: () => new Promise<void>((resolve) => {
      for (const timer of timers) {
        clearTimeout(timer);
      }
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function parseBody(text: string): { taskId: string; workerId: string } {
  try {
    const body = JSON.parse(text) as { task?: { id?: unknown; workerId?: unknown } };
    return { taskId: String(body.task?.id ?? ''), workerId: String(body.task?.workerId ?? '') };
  } catch {
    return { taskId: '', workerId: '' };
  }
}

/**
 * Compares HTTP clients for downstream calls, side by side in one run:
 * undici's Pool (what the dispatcher uses), the global fetch, node:http with
 * a keep-alive agent, and got (the client inside camunda-external-task-client-js).
 * Each sends the same JSON POST to a local service in a child process, with
 * the same number of requests in flight. Reports requests per second and
 * client CPU per request, and ratios to undici's Pool.
 *
 * Run: npm run bench:http
 */
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { got } from 'got';
import { Pool } from 'undici';

const here = dirname(fileURLToPath(import.meta.url));
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);
const IN_FLIGHT = 32;
const ROUNDS = 3;
const payload = JSON.stringify({ variables: { orderId: 'o-1', items: ['sku-1', 'sku-2'] }, task: { id: 't-1', topic: 'reserve' } });
const headers = { 'content-type': 'application/json', 'idempotency-key': 't-1' };

type Send = () => Promise<void>;

interface ClientUnderTest {
  name: string;
  create(origin: string): { send: Send; close(): Promise<void> };
}

const clients: ClientUnderTest[] = [
  {
    name: 'undici Pool',
    create(origin) {
      const pool = new Pool(origin, { connections: IN_FLIGHT, keepAliveTimeout: 30_000 });
      return {
        send: async () => {
          const response = await pool.request({ method: 'POST', path: '/reserve', headers, body: payload });
          JSON.parse(await response.body.text());
        },
        close: () => pool.close(),
      };
    },
  },
  {
    name: 'fetch',
    create(origin) {
      return {
        send: async () => {
          const response = await fetch(`${origin}/reserve`, { method: 'POST', headers, body: payload });
          await response.json();
        },
        close: async () => {},
      };
    },
  },
  {
    name: 'node:http keep-alive',
    create(origin) {
      const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
      const url = new URL(`${origin}/reserve`);
      return {
        send: () => new Promise<void>((resolve, reject) => {
          const outgoing = httpRequest(url, { method: 'POST', headers, agent }, (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () => {
              JSON.parse(Buffer.concat(chunks).toString('utf8'));
              resolve();
            });
            response.on('error', reject);
          });
          outgoing.on('error', reject);
          outgoing.end(payload);
        }),
        close: async () => agent.destroy(),
      };
    },
  },
  {
    name: 'got',
    create(origin) {
      const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
      return {
        send: async () => {
          await got.post(`${origin}/reserve`, { body: payload, headers, agent: { http: agent }, retry: { limit: 0 } }).json();
        },
        close: async () => agent.destroy(),
      };
    },
  },
];

interface Sample {
  requestsPerSecond: number;
  cpuMicrosPerRequest: number;
}

async function runOnce(send: Send): Promise<Sample> {
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const worker = async () => {
    while (next < REQUESTS) {
      next += 1;
      await send();
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { requestsPerSecond: REQUESTS / seconds, cpuMicrosPerRequest: (cpu.user + cpu.system) / REQUESTS };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function startServer(): Promise<{ child: ChildProcess; origin: string }> {
  const child = fork(join(here, 'support/json-server.ts'), ['0'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('error', reject);
  });
  return { child, origin: `http://127.0.0.1:${port}` };
}

async function main(): Promise<void> {
  const { child, origin } = await startServer();
  const results = new Map<string, Sample[]>();
  try {
    const instances = clients.map((client) => ({ client, instance: client.create(origin) }));
    for (const { instance } of instances) {
      for (let warm = 0; warm < 500; warm += 1) {
        await instance.send();
      }
    }
    // Rounds alternate between clients, so drift in machine load spreads over all of them.
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const { client, instance } of instances) {
        process.stderr.write(`round ${round + 1}/${ROUNDS}: ${client.name}\n`);
        const samples = results.get(client.name) ?? [];
        samples.push(await runOnce(instance.send));
        results.set(client.name, samples);
      }
    }
    await Promise.all(instances.map(({ instance }) => instance.close()));
  } finally {
    child.disconnect();
  }

  const summary = clients.map((client) => {
    const samples = results.get(client.name) ?? [];
    return {
      name: client.name,
      requestsPerSecond: Math.round(median(samples.map((sample) => sample.requestsPerSecond))),
      cpuMicrosPerRequest: Math.round(median(samples.map((sample) => sample.cpuMicrosPerRequest)) * 10) / 10,
    };
  });
  const baseline = summary[0] as (typeof summary)[number];
  const rows = summary.map((row) => ({
    ...row,
    throughputRatioToUndiciPool: Math.round((row.requestsPerSecond / baseline.requestsPerSecond) * 100) / 100,
    cpuRatioToUndiciPool: Math.round((row.cpuMicrosPerRequest / baseline.cpuMicrosPerRequest) * 100) / 100,
  }));

  const result = {
    generatedAt: new Date().toISOString(),
    command: 'npm run bench:http',
    machine: { cpu: cpus()[0]?.model, logicalCpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), loadAverage1m: loadavg()[0] },
    node: process.version,
    method: { requests: REQUESTS, inFlight: IN_FLIGHT, rounds: ROUNDS, statistic: 'median over rounds' },
    clients: rows,
  };
  writeFileSync(join(here, 'results/http-clients.json'), `${JSON.stringify(result, null, 2)}\n`);

  console.log('| client | requests/s | CPU µs/request | throughput vs undici Pool | CPU vs undici Pool |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    console.log(`| ${row.name} | ${row.requestsPerSecond} | ${row.cpuMicrosPerRequest} | ${row.throughputRatioToUndiciPool} | ${row.cpuRatioToUndiciPool} |`);
  }
}

await main();

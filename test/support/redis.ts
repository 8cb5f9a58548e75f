/**
 * Redis for tests: key cleanup on the machine's Redis (127.0.0.1:6379, which
 * tests use but never stop or flush), and private redis-server processes on
 * free loopback ports, which a test may kill, pause and restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';

import { Redis } from 'ioredis';

import { waitFor } from '../../src/demo/engine-rest.ts';

export const SHARED_REDIS_URL = 'redis://127.0.0.1:6379';

/** Returns a key prefix no other test uses, such as `bpmn-task-router-test:9c1e0f3a:`. */
export function uniqueKeyPrefix(): string {
  return `bpmn-task-router-test:${randomBytes(4).toString('hex')}:`;
}

/** Deletes every key under `prefix` (SCAN, then DEL in batches); returns how many. */
export async function deleteKeys(url: string, prefix: string): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) {
        deleted += await client.del(...keys);
      }
    } while (cursor !== '0');
    return deleted;
  } finally {
    client.disconnect();
  }
}

/** Reads one key; undefined when it is missing. */
export async function readKey(url: string, key: string): Promise<string | undefined> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    return (await client.get(key)) ?? undefined;
  } finally {
    client.disconnect();
  }
}

/** Writes one key with a one-hour expiry. */
export async function writeKey(url: string, key: string, value: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    await client.set(key, value, 'PX', 3_600_000);
  } finally {
    client.disconnect();
  }
}

/** A redis-server process that a test started and owns. */
export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** Pid of the running server; undefined while it is stopped. */
  readonly pid: number | undefined;
  /** Kills the server with SIGKILL and waits for it to exit. */
  kill(): Promise<void>;
  /** Sends SIGSTOP or SIGCONT, to make the server hang without closing its connections. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void;
  /** Starts the server again on the same port and waits until it answers. */
  restart(): Promise<void>;
}

/** Returns a loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts a redis-server on a free loopback port, without persistence, and waits until it answers PING. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
      stdio: 'ignore',
    });
    child = started;
    await waitFor(() => ping(url), { timeoutMs: 10_000, intervalMs: 50, description: `redis-server on port ${port} to answer PING` });
  };

  await start();
  return {
    port,
    url,
    get pid() {
      return child?.pid;
    },
    async kill() {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null || running.signalCode !== null) {
        return;
      }
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.kill('SIGKILL');
      await exited;
    },
    signal(signal) {
      child?.kill(signal);
    },
    restart: start,
  };
}

async function ping(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

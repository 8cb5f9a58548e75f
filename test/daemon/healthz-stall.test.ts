/**
 * /healthz of a daemon whose poll loop stalls. The engine is a fake whose
 * fetch-and-lock never returns until the test releases it, because the real
 * adapter's own request timeout would end a hanging fetch before the
 * watchdog's deadline. The fetch loop, watchdog and health server under
 * test are the daemon's real ones.
 */
import { request } from 'undici';

import { parseConfig } from '../../src/config/load.ts';
import { startRuntime, type DaemonRuntime } from '../../src/daemon/runtime.ts';
import { waitFor } from '../../src/demo/engine-rest.ts';
import type { EngineAdapter } from '../../src/engine/adapter.ts';
import type { FetchedTask, TaskLock } from '../../src/engine/types.ts';
import { createLogger } from '../../src/telemetry/logger.ts';

/** Fake engine adapter whose fetches hang until release() is called, and return no tasks after open(). */
class StalledEngineFake implements EngineAdapter {
  fetches = 0;
  readonly #waiting: (() => void)[] = [];
  #open = false;

  fetchAndLock(): Promise<FetchedTask[]> {
    this.fetches += 1;
    if (this.#open) {
      return new Promise((resolve) => setTimeout(() => resolve([]), 50));
    }
    return new Promise((resolve) => this.#waiting.push(() => resolve([])));
  }

  /** Returns the fetches that hang now; later ones hang again. */
  release(): void {
    for (const resolve of this.#waiting.splice(0)) {
      resolve();
    }
  }

  /** Returns every fetch, now and later, so the daemon can stop. */
  open(): void {
    this.#open = true;
    this.release();
  }

  async complete(): Promise<void> {}
  async bpmnError(): Promise<void> {}
  async fail(): Promise<void> {}
  async extendLock(): Promise<void> {}
  async unlock(): Promise<void> {}
  async lockOf(): Promise<TaskLock | undefined> {
    return undefined;
  }
  async close(): Promise<void> {
    this.open();
  }
}

async function probe(url: string): Promise<{ status: number; body: { status: string; checks: Record<string, unknown> } }> {
  const response = await request(url);
  return { status: response.statusCode, body: await response.body.json() as { status: string; checks: Record<string, unknown> } };
}

describe('healthz with a stalled poll loop', () => {
  let runtime: DaemonRuntime;
  const engine = new StalledEngineFake();

  afterAll(async () => {
    engine.open();
    await runtime?.stop(1_000);
  });

  test('turns unhealthy after the fetch deadline', async () => {
    const config = parseConfig(`
engine: { baseUrl: http://127.0.0.1:9/engine-rest, asyncResponseTimeout: 200ms, requestTimeout: 200ms }
services: { backend: { baseUrl: http://127.0.0.1:9 } }
topics: [{ topic: stalled, service: backend }]
telemetry:
  server: { host: 127.0.0.1, port: 0 }
  health: { stallGrace: 300ms }
`, { env: {} });
    runtime = await startRuntime({ config, logger: createLogger({ level: 'silent' }), engine });
    const base = `http://127.0.0.1:${runtime.server?.address.port}`;

    const early = await probe(`${base}/healthz`);
    const notReady = await probe(`${base}/readyz`);
    const stalled = await waitFor(async () => {
      const result = await probe(`${base}/healthz`);
      return result.status === 503 ? result : undefined;
    }, { timeoutMs: 10_000, intervalMs: 100, description: '/healthz to report the stalled loop' });

    expect(early.status).toBe(200);
    expect(notReady.status).toBe(503);
    expect(notReady.body.checks.engine).toBe('unknown');
    expect(engine.fetches).toBe(1);
    expect(stalled.body.checks.stalledFetchLoops).toEqual(['backend']);
  });

  test('recovers once the fetch returns', async () => {
    const base = `http://127.0.0.1:${runtime.server?.address.port}`;

    engine.release();
    const healthy = await waitFor(async () => {
      const result = await probe(`${base}/healthz`);
      return result.status === 200 ? result : undefined;
    }, { timeoutMs: 5_000, intervalMs: 50, description: '/healthz to recover' });

    expect(healthy.body.status).toBe('ok');
    expect(engine.fetches).toBeGreaterThanOrEqual(2);
  });
});

/**
 * The health and metrics server on a real loopback port, with the poll
 * watchdog driven by a fake clock.
 */
import { request } from 'undici';

import { HealthServer, type ProbeResult } from '../../src/daemon/health-server.ts';
import { PollWatchdog } from '../../src/daemon/poll-watchdog.ts';

/** A clock the test moves by hand. */
class FakeClock {
  now = 1_000;

  read = (): number => this.now;

  advance(milliseconds: number): void {
    this.now += milliseconds;
  }
}

async function get(url: string): Promise<{ status: number; body: string; contentType: string | undefined }> {
  const response = await request(url);
  return { status: response.statusCode, body: await response.body.text(), contentType: response.headers['content-type'] as string | undefined };
}

function livenessOf(watchdog: PollWatchdog): () => ProbeResult {
  return () => ({ ok: watchdog.healthy(), checks: { fetchLoops: watchdog.loops() } });
}

describe('PollWatchdog', () => {
  test('fetch past its timeout stalls the loop', () => {
    const clock = new FakeClock();
    const watchdog = new PollWatchdog({ fetchTimeoutMs: 40_000, graceMs: 5_000, clock: clock.read });

    watchdog.fetchStarted('inventory');
    clock.advance(44_999);
    expect(watchdog.healthy()).toBe(true);

    clock.advance(2);
    expect(watchdog.healthy()).toBe(false);
    expect(watchdog.loops().inventory).toMatchObject({ phase: 'fetching', stalled: true, sinceFetchStartMs: 45_001 });
  });

  test('returned fetch starts a new deadline', () => {
    const clock = new FakeClock();
    const watchdog = new PollWatchdog({ fetchTimeoutMs: 10_000, graceMs: 1_000, clock: clock.read });

    watchdog.fetchStarted('inventory');
    clock.advance(9_000);
    watchdog.fetchEnded('inventory', true);
    clock.advance(500);
    watchdog.fetchStarted('inventory');
    clock.advance(9_000);

    expect(watchdog.healthy()).toBe(true);
  });

  test('loop stuck between steps stalls', () => {
    const clock = new FakeClock();
    const watchdog = new PollWatchdog({ fetchTimeoutMs: 10_000, graceMs: 1_000, clock: clock.read });

    watchdog.fetchStarted('inventory');
    watchdog.fetchEnded('inventory', true);
    clock.advance(1_001);

    expect(watchdog.loops().inventory).toMatchObject({ phase: 'working', stalled: true });
  });

  test('pause is bounded by its own length', () => {
    const clock = new FakeClock();
    const watchdog = new PollWatchdog({ fetchTimeoutMs: 10_000, graceMs: 1_000, clock: clock.read });

    watchdog.pausing('inventory', 30_000);
    clock.advance(30_500);
    expect(watchdog.healthy()).toBe(true);

    clock.advance(600);
    expect(watchdog.healthy()).toBe(false);
  });

  test('waiting for capacity never stalls', () => {
    const clock = new FakeClock();
    const watchdog = new PollWatchdog({ fetchTimeoutMs: 10_000, graceMs: 1_000, clock: clock.read });

    watchdog.waitingForCapacity('inventory');
    clock.advance(3_600_000);

    expect(watchdog.healthy()).toBe(true);
  });

  test('one stalled loop of several is enough', () => {
    const clock = new FakeClock();
    const watchdog = new PollWatchdog({ fetchTimeoutMs: 10_000, graceMs: 1_000, clock: clock.read });

    watchdog.waitingForCapacity('payments');
    watchdog.fetchStarted('inventory');
    clock.advance(11_001);

    expect(watchdog.healthy()).toBe(false);
    expect(watchdog.loops().payments?.stalled).toBe(false);
    expect(watchdog.loops().inventory?.stalled).toBe(true);
  });

  test('engine reachability follows the last fetches', () => {
    const watchdog = new PollWatchdog({ fetchTimeoutMs: 10_000, graceMs: 1_000, clock: new FakeClock().read });

    expect(watchdog.engineReachability()).toBe('unknown');
    watchdog.fetchStarted('inventory');
    watchdog.fetchEnded('inventory', true);
    expect(watchdog.engineReachability()).toBe('reachable');

    watchdog.fetchStarted('payments');
    watchdog.fetchEnded('payments', false);
    expect(watchdog.engineReachability()).toBe('unreachable');
    expect(watchdog.loops().payments?.consecutiveFetchFailures).toBe(1);

    watchdog.fetchStarted('payments');
    watchdog.fetchEnded('payments', true);
    expect(watchdog.engineReachability()).toBe('reachable');
  });
});

describe('HealthServer', () => {
  let server: HealthServer;
  let base: string;

  beforeEach(async () => {
    server = new HealthServer({ host: '127.0.0.1', port: 0 });
    const address = await server.start();
    base = `http://127.0.0.1:${address.port}`;
  });

  afterEach(async () => {
    await server.stop();
  });

  test('probes fail before sources are attached', async () => {
    const healthz = await get(`${base}/healthz`);
    const readyz = await get(`${base}/readyz`);

    expect(healthz.status).toBe(503);
    expect(readyz.status).toBe(503);
    expect(JSON.parse(readyz.body)).toEqual({ status: 'unavailable', checks: { config: 'not loaded' } });
  });

  test('healthz turns unhealthy when the fetch stalls', async () => {
    const clock = new FakeClock();
    const watchdog = new PollWatchdog({ fetchTimeoutMs: 20_000, graceMs: 5_000, clock: clock.read });
    server.attach({ metrics: async () => '', liveness: livenessOf(watchdog), readiness: () => ({ ok: true, checks: {} }) });

    watchdog.fetchStarted('inventory');
    clock.advance(10_000);
    const healthy = await get(`${base}/healthz`);
    clock.advance(20_000);
    const stalled = await get(`${base}/healthz`);

    expect(healthy.status).toBe(200);
    expect(JSON.parse(healthy.body).status).toBe('ok');
    expect(stalled.status).toBe(503);
    expect(JSON.parse(stalled.body).checks.fetchLoops.inventory).toMatchObject({ phase: 'fetching', stalled: true });
  });

  test('readyz reports the readiness source', async () => {
    let ready = false;
    server.attach({
      metrics: async () => '',
      liveness: () => ({ ok: true, checks: {} }),
      readiness: () => ({ ok: ready, checks: { engine: ready ? 'reachable' : 'unreachable' } }),
    });

    const before = await get(`${base}/readyz`);
    ready = true;
    const after = await get(`${base}/readyz`);

    expect(before.status).toBe(503);
    expect(JSON.parse(before.body).checks.engine).toBe('unreachable');
    expect(after.status).toBe(200);
  });

  test('metrics are served as Prometheus text', async () => {
    server.attach({
      metrics: async () => '# TYPE bpmn_router_tasks_total counter\nbpmn_router_tasks_total 3\n',
      liveness: () => ({ ok: true, checks: {} }),
      readiness: () => ({ ok: true, checks: {} }),
    });

    const metrics = await get(`${base}/metrics`);

    expect(metrics.status).toBe(200);
    expect(metrics.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(metrics.body).toContain('bpmn_router_tasks_total 3');
  });

  test('failing metrics source returns 500', async () => {
    server.attach({
      metrics: async () => {
        throw new Error('collection failed');
      },
      liveness: () => ({ ok: true, checks: {} }),
      readiness: () => ({ ok: true, checks: {} }),
    });

    const metrics = await get(`${base}/metrics`);

    expect(metrics.status).toBe(500);
  });

  test('unknown path is 404 and POST is 405', async () => {
    const missing = await get(`${base}/status`);
    const post = await request(`${base}/healthz`, { method: 'POST' });
    await post.body.text();

    expect(missing.status).toBe(404);
    expect(post.statusCode).toBe(405);
  });

  test('stop is safe to call twice', async () => {
    await Promise.all([server.stop(), server.stop()]);

    expect(server.state).toBe('closed');
  });

  test('port in use rejects start', async () => {
    const second = new HealthServer({ host: '127.0.0.1', port: server.address.port });

    await expect(second.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});

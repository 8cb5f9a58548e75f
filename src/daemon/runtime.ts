/**
 * The daemon as the `start` command runs it: telemetry from the
 * configuration, the health and metrics server when configured, and the
 * daemon itself, started and stopped in the right order.
 */
import type { RouterConfig } from '../config/types.ts';
import type { EngineAdapter } from '../engine/adapter.ts';
import type { Logger } from '../telemetry/logger.ts';
import { Telemetry, telemetryOptions, type TelemetryOptions } from '../telemetry/otel.ts';
import { Daemon } from './daemon.ts';
import { HealthServer, type ProbeResult } from './health-server.ts';
import { PollWatchdog } from './poll-watchdog.ts';

export interface RuntimeOptions {
  config: RouterConfig;
  logger: Logger;
  /** Replaces parts of the telemetry options compiled from `config.telemetry`, e.g. an in-memory span exporter in tests. */
  telemetry?: TelemetryOptions;
  /** Defaults to the adapter of `config.engine.type`. */
  engine?: EngineAdapter;
}

/** A started daemon with its telemetry and server. */
export interface DaemonRuntime {
  readonly daemon: Daemon;
  readonly telemetry: Telemetry;
  readonly watchdog: PollWatchdog;
  /** The health and metrics server; undefined without `telemetry.server`. */
  readonly server: HealthServer | undefined;
  /** Starts the daemon's fetch loops. */
  start(): void;
  /** Stops the daemon gracefully, then the server, then flushes telemetry. Safe to call twice. */
  stop(gracePeriodMs?: number): Promise<void>;
  /** Stops the daemon at once (see {@link Daemon.forceStop}), then the rest. */
  forceStop(): Promise<void>;
}

/** Prepares the runtime (see {@link prepareRuntime}) and starts the daemon. */
export async function startRuntime(options: RuntimeOptions): Promise<DaemonRuntime> {
  const runtime = await prepareRuntime(options);
  runtime.start();
  return runtime;
}

/**
 * Starts the server, so a port that is in use fails before any task is
 * fetched, and creates the daemon without starting it, so the caller can
 * install its signal handlers first. Rejects when the server cannot listen;
 * nothing is left running then.
 */
export async function prepareRuntime(options: RuntimeOptions): Promise<DaemonRuntime> {
  const { config, logger } = options;
  const telemetry = new Telemetry({ ...telemetryOptions(config), ...options.telemetry });
  const watchdog = new PollWatchdog({
    fetchTimeoutMs: config.engine.asyncResponseTimeoutMs + config.engine.requestTimeoutMs,
    graceMs: config.telemetry.health.stallGraceMs,
  });

  let server: HealthServer | undefined;
  if (config.telemetry.server !== undefined) {
    server = new HealthServer({ host: config.telemetry.server.host, port: config.telemetry.server.port, logger });
    try {
      await server.start();
    } catch (error) {
      await telemetry.shutdown();
      throw error;
    }
  }

  const daemon = new Daemon({ config, logger, telemetry, watchdog, engine: options.engine });
  server?.attach({
    metrics: () => telemetry.prometheusText(),
    liveness: () => liveness(daemon, watchdog),
    readiness: () => readiness(daemon, watchdog, config),
  });

  let stopping: Promise<void> | undefined;
  const stopAll = (stopDaemon: () => Promise<void>): Promise<void> => {
    stopping ??= (async () => {
      try {
        await stopDaemon();
      } finally {
        await server?.stop();
        await telemetry.shutdown();
      }
    })();
    return stopping;
  };

  return {
    daemon,
    telemetry,
    watchdog,
    server,
    start: () => daemon.start(),
    stop: (gracePeriodMs) => stopAll(() => daemon.stop(gracePeriodMs)),
    forceStop: () => {
      void daemon.forceStop();
      return stopAll(() => daemon.forceStop());
    },
  };
}

/** Live while the daemon has not failed and no fetch loop has stalled. */
function liveness(daemon: Daemon, watchdog: PollWatchdog): ProbeResult {
  const loops = watchdog.loops();
  const stalled = Object.entries(loops).filter(([, loop]) => loop.stalled).map(([name]) => name);
  return {
    ok: daemon.state !== 'failed' && stalled.length === 0,
    checks: { daemon: daemon.state, stalledFetchLoops: stalled, fetchLoops: loops },
  };
}

/** Ready while the daemon runs and the latest fetches got a response from the engine. */
function readiness(daemon: Daemon, watchdog: PollWatchdog, config: RouterConfig): ProbeResult {
  const engine = watchdog.engineReachability();
  return {
    ok: daemon.state === 'running' && engine === 'reachable',
    checks: { config: config.source ?? 'loaded', daemon: daemon.state, engine },
  };
}

/**
 * `doctor`: checks a configuration file and everything it points at, one
 * verdict per check, in a fixed order. The network checks run at once; each
 * result is reported as soon as it and every result before it are known.
 */
import { loadConfigFile } from '../config/load.ts';
import type { RouterConfig } from '../config/types.ts';
import { ConfigError } from '../errors.ts';
import { checkEngine, checkRedis, checkService, checkTelemetryEndpoint, type CheckResult } from './checks.ts';
import { checkDeployment } from './deployment.ts';

export type { CheckResult, Verdict } from './checks.ts';

export interface DoctorOptions {
  /** Environment for `${VAR}` references. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Called with each result in order, as soon as it is known. */
  onResult?: (result: CheckResult) => void;
}

/** Runs every check of the file and returns the results in order. */
export async function runDoctor(file: string, options: DoctorOptions = {}): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const report = (result: CheckResult) => {
    results.push(result);
    options.onResult?.(result);
  };

  let config: RouterConfig;
  try {
    config = loadConfigFile(file, options.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) {
      throw error;
    }
    report({ name: 'config', verdict: 'fail', detail: error.message.replaceAll('\n', '\n      ') });
    report({ name: 'others', verdict: 'skip', detail: 'the remaining checks need a valid configuration' });
    return results;
  }
  report({ name: 'config', verdict: 'ok', detail: `${file}: ${config.services.size} service${config.services.size === 1 ? '' : 's'}, ${config.topics.length} topic${config.topics.length === 1 ? '' : 's'}` });

  for (const pending of startChecks(config)) {
    for (const result of await pending) {
      report(result);
    }
  }
  return results;
}

/** Starts every check after the configuration's, and returns their results in report order. */
function startChecks(config: RouterConfig): Promise<CheckResult[]>[] {
  const engine = checkEngine(config);
  const deployment = engine.then((result) => (result.verdict === 'ok'
    ? checkDeployment(config)
    : [{ name: 'topics', verdict: 'skip', detail: 'needs a reachable engine' }, { name: 'routes', verdict: 'skip', detail: 'needs a reachable engine' }] as CheckResult[]));

  const { redis } = config.cache;
  const { tracing, metrics } = config.telemetry;
  return [
    engine.then((result) => [{ name: result.name, verdict: result.verdict, detail: result.detail }]),
    ...[...config.services.values()].map((service) => checkService(service).then((result) => [result])),
    redis === undefined ? skipped('redis', 'cache.redis is not configured') : checkRedis(redis).then((result) => [result]),
    deployment,
    tracing.endpoint === undefined
      ? skipped('tracing', 'telemetry.tracing.endpoint is not configured')
      : checkTelemetryEndpoint('tracing', tracing.endpoint, tracing.headers).then((result) => [result]),
    metrics.otlp === undefined
      ? skipped('metrics', 'telemetry.metrics.otlp is not configured')
      : checkTelemetryEndpoint('metrics', metrics.otlp.endpoint, metrics.otlp.headers).then((result) => [result]),
  ];
}

function skipped(name: string, detail: string): Promise<CheckResult[]> {
  return Promise.resolve([{ name, verdict: 'skip', detail }]);
}

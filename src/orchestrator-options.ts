/**
 * Options of {@link ServiceOrchestrator} and how they resolve: the
 * configuration as plain values in the YAML file's shape (or already
 * compiled), plus the settings that only the library has, such as `debug`,
 * `enableMetrics` and the cache lifetimes in seconds.
 */
import type { z } from 'zod';

import { compileConfig } from './config/load.ts';
import type { configSchema } from './config/schema.ts';
import type { CacheOptions, RouterConfig } from './config/types.ts';
import type { Clock } from './definitions/adaptive-cache.ts';
import type { DefinitionSource } from './definitions/repository.ts';
import { ConfigError, type ConfigIssue } from './errors.ts';
import type { ServiceOrchestrator } from './orchestrator.ts';
import { createLogger, silentLogger, type Logger } from './telemetry/logger.ts';
import { Telemetry, telemetryOptions } from './telemetry/otel.ts';

/**
 * The configuration file's sections as plain values, with the same keys,
 * defaults and checks as the YAML file: durations are milliseconds or
 * strings such as `30s`. docs/configuration.md describes every key.
 */
export type ConfigSections = z.input<typeof configSchema>;

/** Settings of the orchestrator itself, accepted both by the constructor and by `fromConfig()`. */
export interface OrchestratorSettings {
  /**
   * Writes JSON log lines at debug level to standard output, e.g. one line
   * per dispatched task. Without it, and without `logger`, the orchestrator
   * logs nothing. Cannot be combined with `logger`; set that logger's level
   * instead.
   * @default false
   */
  debug?: boolean;
  /**
   * Counts tasks, engine and service calls, and times the pipeline's steps
   * for {@link ServiceOrchestrator.getMetrics} and the telemetry's meter.
   * When false, none of this is recorded and `getMetrics()` throws
   * `MetricsDisabledError`.
   * @default true
   */
  enableMetrics?: boolean;
  /**
   * Lifetime in seconds of a parsed definition that has not been read yet;
   * overrides `cache.definitions.ttl`. Each read extends it, up to
   * `cache.definitions.maxTtl`.
   * @default 3600
   */
  xmlCacheTtl?: number;
  /**
   * Lifetime in seconds of an activity's cached properties; overrides
   * `cache.properties.ttl`.
   * @default 3600
   */
  propsCacheTtl?: number;
  /**
   * Lifetime in seconds of an activity's cached documentation; overrides
   * `cache.docs.ttl`.
   * @default 600
   */
  docsCacheTtl?: number;
  /** Logger of every component; the orchestrator never changes its level. @default a logger that writes nothing */
  logger?: Logger;
  /** Source of definition XML. @default the engine's REST API at `engine.baseUrl` */
  definitionSource?: DefinitionSource;
  /** Clock of the caches' expiry; a fake one lets tests move time. @default performance */
  clock?: Clock;
  /**
   * OpenTelemetry tracer and meter to use, e.g. the daemon's own. The
   * orchestrator does not shut it down.
   * @default built from the configuration's `telemetry` section when it sets
   * `tracing.endpoint` or `metrics.otlp`, otherwise one that exports nothing
   */
  telemetry?: Telemetry;
}

/**
 * Options of the {@link ServiceOrchestrator} constructor: the
 * configuration's sections as in the YAML file (at least `engine` and
 * `topics`), or `config` compiled from a file, plus the settings of
 * {@link OrchestratorSettings}.
 */
export interface OrchestratorOptions extends Omit<OrchestratorSettings, 'telemetry'>, Partial<Omit<ConfigSections, 'telemetry'>> {
  /** The engine: `baseUrl` is required. `requestTimeout` bounds the orchestrator's definition requests. */
  engine?: ConfigSections['engine'];
  /** Downstream services by name. @default {} */
  services?: ConfigSections['services'];
  /** Retry, circuit-breaker and handler settings shared by every service. @default 3 attempts from 200 ms, breaker opening after 3 failures */
  dispatch?: ConfigSections['dispatch'];
  /** One entry per topic: its default service, path, method, variables and error mapping, or a handler module. At least one. */
  topics?: ConfigSections['topics'];
  /** Bounds and lifetimes of the three caches, and the optional Redis tier. @default see docs/configuration.md */
  cache?: ConfigSections['cache'];
  /** Limits a definition's XML must meet. @default 16 MiB, depth 256, 500000 elements */
  definitions?: ConfigSections['definitions'];
  /**
   * The configuration's `telemetry` section, from which the orchestrator
   * builds its own telemetry and shuts it down in `close()`; or a
   * {@link Telemetry} to use as it is (see {@link OrchestratorSettings.telemetry}).
   * @default no export
   */
  telemetry?: ConfigSections['telemetry'] | Telemetry;
  /** Read by the daemon's command line only; the orchestrator logs through `logger` or `debug`. @default `{ level: info }` */
  logging?: ConfigSections['logging'];
  /** Read by the daemon only. @default `{ gracePeriod: 30s }` */
  shutdown?: ConfigSections['shutdown'];
  /**
   * A configuration already compiled, e.g. by `loadConfigFile()`, in place
   * of the sections above. Combining it with a section is rejected.
   */
  config?: RouterConfig;
  /** Folder against which relative handler paths of `topics` resolve. @default process.cwd() */
  baseDir?: string;
}

/** The options after checks and defaults, as the orchestrator uses them. */
export interface ResolvedOrchestratorOptions {
  config: RouterConfig;
  logger: Logger;
  metricsEnabled: boolean;
  telemetry: Telemetry;
  /** True when the orchestrator built `telemetry` and so shuts it down. */
  ownsTelemetry: boolean;
  definitionSource: DefinitionSource | undefined;
  clock: Clock | undefined;
}

/** Names of the seconds settings, with the cache each overrides. */
const TTL_SETTINGS = [
  { setting: 'xmlCacheTtl', cache: 'definitions' },
  { setting: 'propsCacheTtl', cache: 'properties' },
  { setting: 'docsCacheTtl', cache: 'docs' },
] as const;

type CacheSectionName = (typeof TTL_SETTINGS)[number]['cache'];

type TtlOverrides = Partial<Record<CacheSectionName, number>>;

/**
 * Checks the options, compiles the configuration and builds the logger
 * and telemetry. Throws {@link ConfigError} listing every problem.
 */
export function resolveOrchestratorOptions(options: OrchestratorOptions): ResolvedOrchestratorOptions {
  const {
    debug, enableMetrics, xmlCacheTtl, propsCacheTtl, docsCacheTtl,
    logger, definitionSource, clock, telemetry, config, baseDir,
    ...rest
  } = options;
  const sections: Record<string, unknown> = definedEntries(rest);
  if (telemetry !== undefined && !(telemetry instanceof Telemetry)) {
    sections.telemetry = telemetry;
  }

  const issues: ConfigIssue[] = [
    ...checkBoolean('debug', debug),
    ...checkBoolean('enableMetrics', enableMetrics),
  ];
  const ttls = checkTtls({ xmlCacheTtl, propsCacheTtl, docsCacheTtl }, issues);
  if (debug === true && logger !== undefined) {
    issues.push({ path: 'debug', received: 'true together with logger', expected: 'one of the two; to log at debug level through your logger, set its level to debug' });
  }
  if (config !== undefined && Object.keys(sections).length > 0) {
    issues.push({
      path: 'config',
      received: `config together with ${Object.keys(sections).join(', ')}`,
      expected: 'either config (a compiled configuration) or the configuration sections (engine, services, topics, ...), not both',
    });
  }

  const compiled = compileSections(config, sections, ttls, baseDir, issues);
  if (compiled !== undefined && enableMetrics === false && compiled.telemetry.metrics.otlp !== undefined) {
    issues.push({
      path: 'enableMetrics',
      received: 'false together with telemetry.metrics.otlp',
      expected: 'enableMetrics: true, or no telemetry.metrics.otlp; with metrics off there is nothing to export',
    });
  }
  if (issues.length > 0 || compiled === undefined) {
    throw new ConfigError(undefined, issues);
  }

  const builtTelemetry = telemetry instanceof Telemetry ? undefined : telemetryFor(compiled);
  return {
    config: compiled,
    logger: logger ?? (debug === true ? createLogger({ level: 'debug' }) : silentLogger()),
    metricsEnabled: enableMetrics ?? true,
    telemetry: telemetry instanceof Telemetry ? telemetry : (builtTelemetry ?? Telemetry.disabled()),
    ownsTelemetry: builtTelemetry !== undefined,
    definitionSource,
    clock,
  };
}

/** Compiles the sections, or applies the seconds settings to a compiled configuration; collects problems in `issues`. */
function compileSections(
  config: RouterConfig | undefined,
  sections: Record<string, unknown>,
  ttls: TtlOverrides,
  baseDir: string | undefined,
  issues: ConfigIssue[],
): RouterConfig | undefined {
  if (config !== undefined) {
    return withTtls(config, ttls);
  }

  const input = { ...sections, cache: cacheWithTtls(sections.cache, ttls, issues) };
  if (input.cache === undefined) {
    delete input.cache;
  }
  try {
    return compileConfig(input, { baseDir });
  } catch (error) {
    if (!(error instanceof ConfigError)) {
      throw error;
    }
    issues.push(...error.issues);
    return undefined;
  }
}

/** Puts the seconds settings into the raw `cache` section as millisecond `ttl` keys; a `ttl` set both ways is a problem. */
function cacheWithTtls(cache: unknown, ttls: TtlOverrides, issues: ConfigIssue[]): unknown {
  if (Object.keys(ttls).length === 0 || (cache !== undefined && !isPlainObject(cache))) {
    // A cache section that is not a mapping is reported by the schema.
    return cache;
  }

  const result: Record<string, unknown> = { ...(cache as Record<string, unknown> | undefined) };
  for (const { setting, cache: name } of TTL_SETTINGS) {
    const ttlMs = ttls[name];
    if (ttlMs === undefined) {
      continue;
    }
    const section = result[name];
    if (section !== undefined && !isPlainObject(section)) {
      continue;
    }
    const ttl = (section as Record<string, unknown> | undefined)?.ttl;
    if (ttl !== undefined) {
      issues.push({
        path: setting,
        received: `${ttlMs / 1000} together with cache.${name}.ttl ${JSON.stringify(ttl)}`,
        expected: `one of the two; both set the lifetime of the ${name} cache`,
      });
      continue;
    }
    result[name] = { ...(section as Record<string, unknown> | undefined), ttl: ttlMs };
  }
  return result;
}

/** Returns a copy of a compiled configuration whose caches take the given lifetimes; `maxTtl` grows to at least the lifetime. */
function withTtls(config: RouterConfig, ttls: TtlOverrides): RouterConfig {
  if (Object.keys(ttls).length === 0) {
    return config;
  }
  const withTtl = <T extends CacheOptions>(options: T, ttlMs: number | undefined): T => (ttlMs === undefined
    ? options
    : Object.freeze({ ...options, ttlMs, maxTtlMs: Math.max(options.maxTtlMs, ttlMs) }));
  const { cache } = config;
  return Object.freeze({
    ...config,
    cache: Object.freeze({
      ...cache,
      definitions: withTtl(cache.definitions, ttls.definitions),
      properties: withTtl(cache.properties, ttls.properties),
      docs: withTtl(cache.docs, ttls.docs),
    }),
  });
}

/** Checks the seconds settings and returns them in milliseconds by cache; collects problems in `issues`. */
function checkTtls(settings: Record<(typeof TTL_SETTINGS)[number]['setting'], unknown>, issues: ConfigIssue[]): TtlOverrides {
  const ttls: TtlOverrides = {};
  for (const { setting, cache } of TTL_SETTINGS) {
    const seconds = settings[setting];
    if (seconds === undefined) {
      continue;
    }
    const milliseconds = typeof seconds === 'number' ? Math.round(seconds * 1000) : Number.NaN;
    if (!Number.isSafeInteger(milliseconds) || milliseconds < 1) {
      issues.push({ path: setting, received: describeValue(seconds), expected: 'a number of seconds above zero, such as 3600' });
      continue;
    }
    ttls[cache] = milliseconds;
  }
  return ttls;
}

function checkBoolean(path: string, value: unknown): ConfigIssue[] {
  return value === undefined || typeof value === 'boolean' ? [] : [{ path, received: describeValue(value), expected: 'true or false' }];
}

/** Builds telemetry from the configuration when it exports anything; undefined otherwise. */
function telemetryFor(config: RouterConfig): Telemetry | undefined {
  const { tracing, metrics } = config.telemetry;
  if (tracing.endpoint === undefined && metrics.otlp === undefined) {
    return undefined;
  }
  return new Telemetry(telemetryOptions(config));
}

function definedEntries(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeValue(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/**
 * OpenTelemetry set-up: a tracer provider that exports spans over OTLP/HTTP,
 * a meter provider read by Prometheus (served by the daemon's own HTTP
 * server) and optionally pushed over OTLP/HTTP, and W3C trace-context
 * propagation. One {@link Telemetry} per daemon; nothing is registered as
 * the process-wide provider, so two daemons in one process keep their
 * telemetry apart. Only the context manager is process-wide, because
 * `context.active()` is.
 */
import { hostname } from 'node:os';

import { context, createNoopMeter, ProxyTracerProvider, type Meter, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type IMetricReader } from '@opentelemetry/sdk-metrics';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';

import type { RouterConfig } from '../config/types.ts';
import { DEFAULT_SERVICE_NAME, INSTRUMENTATION_SCOPE, SEMCONV } from './names.ts';
import { ProcessInstanceIdGenerator } from './trace-id.ts';

/** Time a shutdown waits for the last spans and metrics to be exported. */
const SHUTDOWN_TIMEOUT_MS = 5_000;

/** Options of {@link Telemetry}; the `telemetry:` configuration section compiles to these. */
export interface TelemetryOptions {
  /** `service.name` of the exported resource. @default 'bpmn-task-router' */
  serviceName?: string;
  /** `service.instance.id`, e.g. the engine worker id. @default `<hostname>-<pid>` */
  serviceInstanceId?: string;
  tracing?: {
    /** OTLP/HTTP traces URL, e.g. `http://127.0.0.1:4318/v1/traces`; without it and without `exporter`, tracing is off. */
    endpoint?: string;
    /** Headers sent with each export, e.g. an authorization header. */
    headers?: Readonly<Record<string, string>>;
    /** Share of process instances whose traces are recorded, from 0 to 1. @default 1 */
    sampleRatio?: number;
    /** Exporter used instead of OTLP, e.g. an `InMemorySpanExporter` in tests. */
    exporter?: SpanExporter;
    /** Pause between two span exports. @default 1000 */
    exportDelayMs?: number;
  };
  metrics?: {
    /** OTLP/HTTP metrics URL, e.g. `http://127.0.0.1:4318/v1/metrics`; without it metrics are only served to Prometheus. */
    otlpEndpoint?: string;
    otlpHeaders?: Readonly<Record<string, string>>;
    /** Pause between two OTLP metric exports. @default 60000 */
    exportIntervalMs?: number;
  };
}

type State = 'running' | 'shutting-down' | 'shut-down';

/**
 * The OpenTelemetry providers of one daemon. `tracer` records nothing while
 * tracing is off; `meter` always records, and {@link prometheusText}
 * returns the current figures in the Prometheus text format.
 */
export class Telemetry {
  readonly tracer: Tracer;
  readonly meter: Meter;
  /** Sets and reads the W3C `traceparent` and `tracestate` headers. */
  readonly propagator = new W3CTraceContextPropagator();
  /** Hands the process instance's trace id to a task's root span. */
  readonly ids: ProcessInstanceIdGenerator;
  readonly tracingEnabled: boolean;
  readonly #tracerProvider: TracerProvider | undefined;
  readonly #meterProvider: MeterProvider | undefined;
  readonly #prometheus: PrometheusExporter | undefined;
  readonly #serializer = new PrometheusSerializer();
  #state: State = 'running';
  #shutdown: Promise<void> | undefined;

  constructor(options: TelemetryOptions = {}, enabled = true) {
    this.ids = new ProcessInstanceIdGenerator();
    if (!enabled) {
      this.tracer = new ProxyTracerProvider().getTracer(INSTRUMENTATION_SCOPE);
      this.meter = createNoopMeter();
      this.tracingEnabled = false;
      return;
    }
    enableContextPropagation();

    const resource = resourceFromAttributes({
      [SEMCONV.serviceName]: options.serviceName ?? DEFAULT_SERVICE_NAME,
      [SEMCONV.serviceInstanceId]: options.serviceInstanceId ?? `${hostname()}-${process.pid}`,
    });

    const exporter = spanExporter(options.tracing);
    this.tracingEnabled = exporter !== undefined;
    if (exporter !== undefined) {
      this.#tracerProvider = new TracerProvider({
        resource,
        idGenerator: this.ids,
        sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.tracing?.sampleRatio ?? 1) }),
        spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: options.tracing?.exportDelayMs ?? 1_000 })],
      });
      this.tracer = this.#tracerProvider.getTracer(INSTRUMENTATION_SCOPE);
    } else {
      this.tracer = new ProxyTracerProvider().getTracer(INSTRUMENTATION_SCOPE);
    }

    this.#prometheus = new PrometheusExporter({ preventServerStart: true });
    const readers: IMetricReader[] = [this.#prometheus];
    if (options.metrics?.otlpEndpoint !== undefined) {
      readers.push(new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: options.metrics.otlpEndpoint, headers: { ...options.metrics.otlpHeaders } }),
        exportIntervalMillis: options.metrics.exportIntervalMs ?? 60_000,
      }));
    }
    this.#meterProvider = new MeterProvider({ resource, readers });
    this.meter = this.#meterProvider.getMeter(INSTRUMENTATION_SCOPE);
  }

  /** Telemetry that exports nothing: a no-op tracer and meter, for library users who configure none. */
  static disabled(): Telemetry {
    return new Telemetry({}, false);
  }

  /** Collects every metric and returns it in the Prometheus text exposition format; empty when metrics are off. */
  async prometheusText(): Promise<string> {
    if (this.#prometheus === undefined || this.#state !== 'running') {
      return '';
    }
    const { resourceMetrics } = await this.#prometheus.collect();
    return this.#serializer.serialize(resourceMetrics);
  }

  /** Exports the spans and OTLP metrics recorded so far. */
  async forceFlush(): Promise<void> {
    await Promise.all([this.#tracerProvider?.forceFlush(), this.#meterProvider?.forceFlush()]);
  }

  /**
   * Exports what is left and shuts the providers down, waiting at most
   * 5 s for the exporters. Safe to call twice: the second call returns the
   * first call's promise.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#shutDown();
    return this.#shutdown;
  }

  async #shutDown(): Promise<void> {
    this.#state = 'shutting-down';
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, SHUTDOWN_TIMEOUT_MS);
      timer.unref();
    });
    const providers = Promise.allSettled([this.#tracerProvider?.shutdown(), this.#meterProvider?.shutdown()]);
    await Promise.race([providers, timeout]);
    clearTimeout(timer);
    this.#state = 'shut-down';
  }
}

/** Returns the telemetry options that `config.telemetry` sets. */
export function telemetryOptions(config: RouterConfig): TelemetryOptions {
  const { telemetry } = config;
  return {
    serviceName: telemetry.serviceName,
    serviceInstanceId: config.engine.workerId,
    tracing: { endpoint: telemetry.tracing.endpoint, headers: telemetry.tracing.headers, sampleRatio: telemetry.tracing.sampleRatio },
    metrics: {
      otlpEndpoint: telemetry.metrics.otlp?.endpoint,
      otlpHeaders: telemetry.metrics.otlp?.headers,
      exportIntervalMs: telemetry.metrics.otlp?.intervalMs,
    },
  };
}

function spanExporter(tracing: TelemetryOptions['tracing']): SpanExporter | undefined {
  if (tracing?.exporter !== undefined) {
    return tracing.exporter;
  }
  if (tracing?.endpoint === undefined) {
    return undefined;
  }
  return new OTLPTraceExporter({ url: tracing.endpoint, headers: { ...tracing.headers } });
}

let contextManagerInstalled = false;

/**
 * Installs the AsyncLocalStorage context manager once per process, so the
 * active span follows a task across `await`. Leaves one that another
 * library installed in place.
 */
function enableContextPropagation(): void {
  if (contextManagerInstalled) {
    return;
  }
  contextManagerInstalled = true;
  const manager = new AsyncLocalStorageContextManager();
  if (context.setGlobalContextManager(manager.enable())) {
    return;
  }
  manager.disable();
}

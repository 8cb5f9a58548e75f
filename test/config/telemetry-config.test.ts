import { parseConfig } from '../../src/config/load.ts';
import { issuesOf } from '../support/config.ts';

const BASE = `
engine: { baseUrl: http://127.0.0.1:8080/engine-rest }
topics: [{ topic: t }]
`;

describe('telemetry configuration', () => {
  test('defaults export nothing and open no port', () => {
    const { telemetry } = parseConfig(BASE, { env: {} });

    expect(telemetry).toEqual({
      serviceName: 'bpmn-task-router',
      tracing: { endpoint: undefined, headers: {}, sampleRatio: 1 },
      metrics: { otlp: undefined },
      server: undefined,
      health: { stallGraceMs: 30_000 },
    });
    expect(Object.isFrozen(telemetry.tracing)).toBe(true);
  });

  test('every key compiles', () => {
    const { telemetry } = parseConfig(`${BASE}
telemetry:
  serviceName: order-router
  tracing:
    endpoint: \${OTLP_URL}/v1/traces
    headers: { authorization: 'Bearer \${OTLP_TOKEN}' }
    sampleRatio: 0.25
  metrics:
    otlp: { endpoint: http://127.0.0.1:4318/v1/metrics, interval: 15s }
  server: { host: 0.0.0.0, port: 9100 }
  health: { stallGrace: 10s }
`, { env: { OTLP_URL: 'http://127.0.0.1:4318', OTLP_TOKEN: 'secret' } });

    expect(telemetry).toEqual({
      serviceName: 'order-router',
      tracing: { endpoint: 'http://127.0.0.1:4318/v1/traces', headers: { authorization: 'Bearer secret' }, sampleRatio: 0.25 },
      metrics: { otlp: { endpoint: 'http://127.0.0.1:4318/v1/metrics', headers: {}, intervalMs: 15_000 } },
      server: { host: '0.0.0.0', port: 9100 },
      health: { stallGraceMs: 10_000 },
    });
  });

  test('empty server section listens on loopback', () => {
    const { telemetry } = parseConfig(`${BASE}telemetry: { server: {} }\n`, { env: {} });

    expect(telemetry.server).toEqual({ host: '127.0.0.1', port: 9464 });
  });

  test('invalid values name their keys', () => {
    const issues = issuesOf(`${BASE}
telemetry:
  tracing: { endpoint: jaeger:4318, sampleRatio: 2 }
  metrics: { otlp: { interval: 1m } }
  server: { port: 70000 }
  health: { stallGrace: 0 }
  exporter: otlp
`);
    const paths = issues.map((issue) => issue.path).sort();

    expect(paths).toEqual([
      'telemetry.exporter',
      'telemetry.health.stallGrace',
      'telemetry.metrics.otlp.endpoint',
      'telemetry.server.port',
      'telemetry.tracing.endpoint',
      'telemetry.tracing.sampleRatio',
    ]);
    expect(issues.find((issue) => issue.path === 'telemetry.server.port')?.expected).toBe('an integer from 0 to 65535');
    expect(issues.find((issue) => issue.path === 'telemetry.tracing.sampleRatio')?.expected).toBe('a number from 0 to 1');
  });

  test('export header values stay hidden in errors', () => {
    const issues = issuesOf(`${BASE}
telemetry:
  tracing: { headers: { authorization: 42 } }
`);

    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('telemetry.tracing.headers.authorization');
    expect(issues[0]?.received).toBe('(hidden)');
  });
});

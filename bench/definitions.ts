/**
 * Benchmark of the definitions layer, as ratios from one run:
 *
 * - parse and extract: our streaming extractor (`parseDefinition`) against
 *   xml2js and bpmn-moddle (with the Camunda descriptor), each walked to the
 *   routing facts of every activity, on the largest corpus files;
 * - cache get and set: our `AdaptiveCache` against node-cache;
 * - memory: RSS of a fresh process holding 10,000 distinct parsed
 *   definitions in the definition cache and their activities' properties in
 *   the properties cache;
 * - Redis format: size and decode time of the stored model against the XML,
 *   which decides what the Redis tier stores.
 *
 * Run: npm run bench:definitions   (writes bench/results/definitions.json)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BpmnModdle } from 'bpmn-moddle';
import camundaDescriptor from 'camunda-bpmn-moddle/resources/camunda.json' with { type: 'json' };
import NodeCache from 'node-cache';
import xml2js from 'xml2js';

import { AdaptiveCache } from '../src/definitions/adaptive-cache.ts';
import { parseDefinition } from '../src/definitions/bpmn-extractor.ts';
import { BPMN_MODEL_NS, CAMUNDA_NS, CONTAINER_TYPES, FLOW_NODE_TYPES, OPERATON_NS } from '../src/definitions/bpmn-vocabulary.ts';
import { decodeModel, encodeModel } from '../src/definitions/model-codec.ts';
import type { DefinitionModel } from '../src/definitions/model.ts';
import { generatedDefinition, RSS_DEFINITIONS, RSS_TASKS_PER_DEFINITION } from './definitions-rss.ts';
import { compiledScript } from './support/compiled.ts';
import { largestCorpusInputs, requireCorpus, type CorpusInput } from './support/corpus.ts';

/** Corpus files taken as parse inputs: the largest well-formed BPMN files. */
const CORPUS_INPUT_COUNT = 5;
const WARM_UP_MS = 400;
/** Timed samples per parser and input, taken in turns across parsers; the median is reported. */
const SAMPLES = 11;
/** A sample repeats its operation for at least this long, to smooth out timer resolution. */
const SAMPLE_MIN_MS = 60;
/** Keys in the cache benchmark. */
const CACHE_KEYS = 10_000;
const CACHE_SAMPLES = 15;

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
// BENCH_RESULTS_FILE lets the benchmark suite run this file without replacing the published results.
const RESULTS_FILE = process.env.BENCH_RESULTS_FILE ?? join(BENCH_DIR, 'results', 'definitions.json');

// ---------------------------------------------------------------------------
// Routing facts: what every parser must deliver per activity.

interface Facts {
  id: string;
  type: string;
  topic: string | undefined;
  implementationType: string | undefined;
  properties: Record<string, string>;
  documentation: string | undefined;
  outgoing: string[];
}

/** Canonical JSON of activity facts, for comparing parsers. */
function canonical(facts: Iterable<Facts>): string {
  const rows = [...facts].map((fact) => ({
    ...fact,
    properties: Object.fromEntries(Object.entries(fact.properties).sort()),
    outgoing: [...fact.outgoing].sort(),
  }));
  rows.sort((left, right) => (left.id < right.id ? -1 : 1));
  return JSON.stringify(rows);
}

function factsOfModel(model: DefinitionModel): Facts[] {
  return [...model.activities.values()].map((activity) => ({
    id: activity.id,
    type: activity.type,
    // Both competitors read `camunda:topic` on the element only; ours also reads it from a message event definition.
    topic: activity.type.endsWith('Event') ? undefined : activity.topic,
    implementationType: activity.type.endsWith('Event') ? undefined : activity.implementationType,
    properties: { ...activity.properties },
    documentation: activity.documentation,
    outgoing: [...activity.outgoing],
  }));
}

/** Links sequence flows to their source facts, keeping only flows between known activities. */
function linkFlows(facts: Map<string, Facts>, flows: readonly [string, string][]): Facts[] {
  for (const [source, target] of flows) {
    const fact = facts.get(source);
    if (fact !== undefined && facts.has(target)) {
      fact.outgoing.push(target);
    }
  }
  return [...facts.values()];
}

function localId(reference: string): string {
  return reference.slice(reference.lastIndexOf(':') + 1);
}

// ---------------------------------------------------------------------------
// xml2js: parse to objects with namespaces, then walk.

interface Xml2jsNode {
  $ns?: { local: string; uri: string };
  $?: Record<string, { value: string; local: string; uri: string }>;
  $$?: Xml2jsNode[];
  _?: string;
}

const XML2JS_OPTIONS: xml2js.ParserOptions = { xmlns: true, explicitChildren: true, preserveChildrenOrder: true, explicitRoot: false, async: false };

function parseXml2js(text: string): Xml2jsNode {
  let result: Xml2jsNode | undefined;
  let failure: unknown;
  new xml2js.Parser(XML2JS_OPTIONS).parseString(text, (error: unknown, value: Xml2jsNode) => {
    failure = error;
    result = value;
  });
  if (failure !== null && failure !== undefined) {
    throw failure;
  }
  if (result === undefined) {
    throw new Error('xml2js returned no result synchronously');
  }
  return result;
}

function xml2jsAttribute(node: Xml2jsNode, local: string, uris: readonly string[] = ['']): string | undefined {
  for (const uri of uris) {
    for (const key in node.$) {
      const attribute = node.$[key];
      if (attribute !== undefined && attribute.local === local && attribute.uri === uri) {
        return attribute.value;
      }
    }
  }
  return undefined;
}

const CAMUNDA_URIS = [OPERATON_NS, CAMUNDA_NS];

function xml2jsFacts(text: string): Facts[] {
  const root = parseXml2js(text);
  const facts = new Map<string, Facts>();
  const flows: [string, string][] = [];

  const visitScope = (scope: Xml2jsNode): void => {
    for (const child of scope.$$ ?? []) {
      if (child.$ns?.uri !== BPMN_MODEL_NS) {
        continue;
      }
      const local = child.$ns.local;
      if (local === 'sequenceFlow') {
        const source = xml2jsAttribute(child, 'sourceRef');
        const target = xml2jsAttribute(child, 'targetRef');
        if (source !== undefined && target !== undefined) {
          flows.push([localId(source), localId(target)]);
        }
      } else if (FLOW_NODE_TYPES.has(local)) {
        visitFlowNode(child, local);
      }
    }
  };

  const visitFlowNode = (node: Xml2jsNode, type: string): void => {
    const id = xml2jsAttribute(node, 'id');
    const isEvent = type.endsWith('Event');
    const fact: Facts = {
      id: id ?? '',
      type,
      topic: isEvent ? undefined : xml2jsAttribute(node, 'topic', CAMUNDA_URIS),
      implementationType: isEvent ? undefined : xml2jsAttribute(node, 'type', CAMUNDA_URIS),
      properties: {},
      documentation: undefined,
      outgoing: [],
    };
    const documentation: string[] = [];
    for (const child of node.$$ ?? []) {
      if (child.$ns?.uri === BPMN_MODEL_NS && child.$ns.local === 'documentation') {
        const textContent = (child._ ?? '').trim();
        if (textContent !== '') {
          documentation.push(textContent);
        }
      } else if (child.$ns?.uri === BPMN_MODEL_NS && child.$ns.local === 'extensionElements') {
        readXml2jsProperties(child, fact.properties);
      }
    }
    fact.documentation = documentation.length === 0 ? undefined : documentation.join('\n\n');
    if (id !== undefined && !facts.has(id)) {
      facts.set(id, fact);
    }
    if (CONTAINER_TYPES.has(type)) {
      visitScope(node);
    }
  };

  for (const child of root.$$ ?? []) {
    if (child.$ns?.uri === BPMN_MODEL_NS && child.$ns.local === 'process') {
      visitScope(child);
    }
  }
  return linkFlows(facts, flows);
}

function readXml2jsProperties(extensionElements: Xml2jsNode, properties: Record<string, string>): void {
  for (const extension of extensionElements.$$ ?? []) {
    if (extension.$ns?.local !== 'properties' || !CAMUNDA_URIS.includes(extension.$ns.uri)) {
      continue;
    }
    for (const property of extension.$$ ?? []) {
      const name = xml2jsAttribute(property, 'name');
      if (property.$ns?.local === 'property' && name !== undefined) {
        properties[name] = xml2jsAttribute(property, 'value') ?? '';
      }
    }
  }
}

// ---------------------------------------------------------------------------
// bpmn-moddle: parse to its typed model (Camunda descriptor loaded), then walk.

interface ModdleElement {
  $type: string;
  id?: string;
  topic?: string;
  type?: string;
  documentation?: { text?: string }[];
  extensionElements?: { values?: ModdleElement[] };
  values?: { name?: string; value?: string }[];
  flowElements?: ModdleElement[];
  rootElements?: ModdleElement[];
  sourceRef?: { id?: string };
  targetRef?: { id?: string };
}

const moddle = new BpmnModdle({ camunda: camundaDescriptor });

async function moddleFacts(text: string): Promise<Facts[]> {
  const { rootElement } = (await moddle.fromXML(text)) as unknown as { rootElement: ModdleElement };
  const facts = new Map<string, Facts>();
  const flows: [string, string][] = [];

  const visitScope = (scope: ModdleElement): void => {
    for (const element of scope.flowElements ?? []) {
      const type = element.$type.startsWith('bpmn:') ? element.$type.charAt(5).toLowerCase() + element.$type.slice(6) : '';
      if (type === 'sequenceFlow') {
        if (element.sourceRef?.id !== undefined && element.targetRef?.id !== undefined) {
          flows.push([element.sourceRef.id, element.targetRef.id]);
        }
        continue;
      }
      if (!FLOW_NODE_TYPES.has(type)) {
        continue;
      }
      const isEvent = type.endsWith('Event');
      const properties: Record<string, string> = {};
      for (const extension of element.extensionElements?.values ?? []) {
        if (extension.$type === 'camunda:Properties') {
          for (const property of extension.values ?? []) {
            if (property.name !== undefined) {
              properties[property.name] = property.value ?? '';
            }
          }
        }
      }
      const documentation = (element.documentation ?? []).map((entry) => (entry.text ?? '').trim()).filter((entry) => entry !== '');
      if (element.id !== undefined && !facts.has(element.id)) {
        facts.set(element.id, {
          id: element.id,
          type,
          topic: isEvent ? undefined : element.topic,
          implementationType: isEvent ? undefined : element.type,
          properties,
          documentation: documentation.length === 0 ? undefined : documentation.join('\n\n'),
          outgoing: [],
        });
      }
      if (CONTAINER_TYPES.has(type)) {
        visitScope(element);
      }
    }
  };

  for (const element of rootElement.rootElements ?? []) {
    if (element.$type === 'bpmn:Process') {
      visitScope(element);
    }
  }
  return linkFlows(facts, flows);
}

// ---------------------------------------------------------------------------
// Timing.

interface Parser {
  id: string;
  label: string;
  version: string;
  extract(text: string): unknown;
}

function versionOf(name: string): string {
  const file = fileURLToPath(new URL(`../node_modules/${name}/package.json`, import.meta.url));
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

const PARSERS: Parser[] = [
  { id: 'ours', label: 'saxes streaming extractor (parseDefinition)', version: `saxes ${versionOf('saxes')}`, extract: (text) => parseDefinition(text) },
  { id: 'xml2js', label: 'xml2js (sax) to objects, then walk', version: versionOf('xml2js'), extract: (text) => xml2jsFacts(text) },
  {
    id: 'bpmn-moddle',
    label: 'bpmn-moddle with camunda-bpmn-moddle, then walk',
    version: `${versionOf('bpmn-moddle')} (camunda-bpmn-moddle ${versionOf('camunda-bpmn-moddle')})`,
    extract: (text) => moddleFacts(text),
  },
];

/** Returns the items starting at `round` modulo their count, so no candidate always runs first in a round. */
function rotate<T>(items: readonly T[], round: number): T[] {
  const start = round % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Runs `run` repeatedly for at least `minMs` and returns the mean time of one run in ms; awaits a returned promise. */
async function timeRuns(run: () => unknown, minMs: number): Promise<number> {
  let runs = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    const result = run();
    if (result instanceof Promise) {
      await result;
    }
    runs += 1;
    elapsed = performance.now() - start;
  } while (elapsed < minMs);
  return elapsed / runs;
}

type Input = CorpusInput;

async function measureParsers(inputs: readonly Input[]) {
  const times = new Map(PARSERS.map((parser) => [parser.id, new Map<string, number>()]));
  for (const input of inputs) {
    for (const parser of PARSERS) {
      await timeRuns(() => parser.extract(input.text), WARM_UP_MS);
    }
    const samples = new Map<string, number[]>(PARSERS.map((parser) => [parser.id, []]));
    for (let round = 0; round < SAMPLES; round += 1) {
      for (const parser of rotate(PARSERS, round)) {
        samples.get(parser.id)?.push(await timeRuns(() => parser.extract(input.text), SAMPLE_MIN_MS));
      }
    }
    for (const parser of PARSERS) {
      times.get(parser.id)?.set(input.name, median(samples.get(parser.id) ?? []));
    }
    process.stderr.write(`parse: measured ${input.name}\n`);
  }

  const totalBytes = inputs.reduce((sum, input) => sum + input.bytes, 0);
  const results: Record<string, { label: string; version: string; mbPerSecond: number; factsMatchOurs: boolean; perInputMs: Record<string, number> }> = {};
  for (const parser of PARSERS) {
    const perInput = times.get(parser.id) as Map<string, number>;
    const totalMs = [...perInput.values()].reduce((sum, ms) => sum + ms, 0);
    const factsMatchOurs = await factsAgree(parser, inputs);
    results[parser.id] = {
      label: parser.label,
      version: parser.version,
      mbPerSecond: round(totalBytes / 1e6 / (totalMs / 1000), 2),
      factsMatchOurs,
      perInputMs: Object.fromEntries([...perInput].map(([name, ms]) => [name, round(ms, 3)])),
    };
  }
  return { totalBytes, results };
}

async function factsAgree(parser: Parser, inputs: readonly Input[]): Promise<boolean> {
  for (const input of inputs) {
    const ours = canonical(factsOfModel(parseDefinition(input.text)));
    const theirs = parser.id === 'ours' ? ours : canonical((await parser.extract(input.text)) as Facts[]);
    if (theirs !== ours) {
      process.stderr.write(`facts of ${parser.id} differ from ours on ${input.name}\n`);
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------
// Cache get and set.

interface CacheUnderTest {
  id: string;
  get(key: string): unknown;
  set(key: string, value: object): void;
}

function cacheCandidates(): CacheUnderTest[] {
  const ours = new AdaptiveCache<object>({
    name: 'bench',
    ttlMs: 3_600_000,
    maxTtlMs: 86_400_000,
    ttlGrowth: 2,
    maxEntries: CACHE_KEYS * 2,
    maxBytes: 1024 * 1024 * 1024,
    sizeOf: () => 200,
  });
  // Clones off, so node-cache returns the stored object as ours does; with clones it copies on every get and set.
  const nodeCache = new NodeCache({ stdTTL: 3_600, checkperiod: 0, useClones: false, maxKeys: -1 });
  return [
    { id: 'ours', get: (key) => ours.get(key), set: (key, value) => ours.set(key, value) },
    { id: 'node-cache', get: (key) => nodeCache.get(key), set: (key, value) => void nodeCache.set(key, value) },
  ];
}

async function measureCaches() {
  const keys = Array.from({ length: CACHE_KEYS }, (_, index) => `order-process:${1 + (index % 40)}:${index.toString(16).padStart(8, '0')}:Activity_${index}`);
  const values = keys.map((key) => Object.freeze({ activityId: key, found: true, properties: { service: 'payments', path: '/charge' }, headers: {} }));
  // A fixed shuffle, so reads do not walk the keys in insertion order.
  const order = keys.map((_, index) => (index * 7_919) % CACHE_KEYS);
  const candidates = cacheCandidates();
  for (const candidate of candidates) {
    keys.forEach((key, index) => candidate.set(key, values[index] as object));
  }

  const getOps = (candidate: CacheUnderTest) => () => {
    for (const index of order) {
      candidate.get(keys[index] as string);
    }
  };
  const setOps = (candidate: CacheUnderTest) => () => {
    for (const index of order) {
      candidate.set(keys[index] as string, values[index] as object);
    }
  };

  const results: Record<string, { getOpsPerSecond: number; setOpsPerSecond: number }> = {};
  for (const [operation, make] of [['get', getOps], ['set', setOps]] as const) {
    for (const candidate of candidates) {
      await timeRuns(make(candidate), WARM_UP_MS);
    }
    const samples = new Map<string, number[]>(candidates.map((candidate) => [candidate.id, []]));
    for (let roundIndex = 0; roundIndex < CACHE_SAMPLES; roundIndex += 1) {
      for (const candidate of rotate(candidates, roundIndex)) {
        samples.get(candidate.id)?.push(await timeRuns(make(candidate), SAMPLE_MIN_MS));
      }
    }
    for (const candidate of candidates) {
      const opsPerSecond = CACHE_KEYS / (median(samples.get(candidate.id) ?? []) / 1000);
      results[candidate.id] ??= { getOpsPerSecond: 0, setOpsPerSecond: 0 };
      (results[candidate.id] as { getOpsPerSecond: number; setOpsPerSecond: number })[`${operation}OpsPerSecond`] = Math.round(opsPerSecond);
    }
    process.stderr.write(`cache: measured ${operation}\n`);
  }
  return results;
}

// ---------------------------------------------------------------------------
// RSS with 10,000 cached definitions, in a fresh child process (bench/definitions-rss.ts).

/** The V8 flags that the container image and the Kubernetes manifests set in NODE_OPTIONS. */
const SHIPPED_V8_FLAGS = ['--max-semi-space-size=8'];

/**
 * Runs bench/definitions-rss.ts in a fresh process, as compiled JavaScript
 * (as an installed package runs) or as TypeScript sources, with extra V8
 * flags, and returns what it prints.
 */
function measureRss(form: 'javascript' | 'typescript', v8Flags: readonly string[]): Record<string, unknown> {
  const source = join(BENCH_DIR, 'definitions-rss.ts');
  const script = form === 'javascript' ? compiledScript(source) : source;
  const child = spawnSync(process.execPath, ['--expose-gc', ...v8Flags, script], { encoding: 'utf8', maxBuffer: 1024 * 1024 });
  if (child.status !== 0) {
    throw new Error(`RSS child failed with ${child.status}: ${child.stderr}`);
  }
  process.stderr.write(`rss: measured ${form} with flags [${v8Flags.join(' ')}]\n`);
  return { form, v8Flags, ...(JSON.parse(child.stdout) as Record<string, unknown>) };
}

// ---------------------------------------------------------------------------
// What the Redis tier stores: the XML (parsed again on read) or the model as JSON (decoded on read).

async function measureRedisFormat(inputs: readonly Input[]) {
  const rows = [];
  for (const input of [...inputs, { name: `generated: ${RSS_TASKS_PER_DEFINITION} external tasks`, text: generatedDefinition(1, RSS_TASKS_PER_DEFINITION), bytes: 0 }]) {
    const json = encodeModel(parseDefinition(input.text));
    const parseMs = await timeRuns(() => parseDefinition(input.text), 300);
    const decodeMs = await timeRuns(() => decodeModel(json), 300);
    rows.push({
      input: input.name,
      xmlBytes: Buffer.byteLength(input.text),
      modelJsonBytes: Buffer.byteLength(json),
      parseXmlMs: round(parseMs, 3),
      decodeModelMs: round(decodeMs, 3),
    });
  }
  process.stderr.write('redis format: measured\n');
  return rows;
}

// ---------------------------------------------------------------------------

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

async function main(): Promise<void> {
  const loadAtStart = loadavg()[0] ?? 0;
  const inputs = largestCorpusInputs(requireCorpus(), CORPUS_INPUT_COUNT);

  const parse = await measureParsers(inputs);
  const caches = await measureCaches();
  const rss = measureRss('javascript', SHIPPED_V8_FLAGS);
  // V8 grows the young generation with the allocation rate of parsing, and a full GC does not give that memory back.
  const rssDefaultFlags = measureRss('javascript', []);
  const rssTypeScriptSources = measureRss('typescript', []);
  const redisFormat = await measureRedisFormat(inputs);

  const ours = parse.results.ours as { mbPerSecond: number };
  const cpu = cpus();
  const results = {
    parseThroughputRatioVsXml2js: round(ours.mbPerSecond / (parse.results.xml2js as { mbPerSecond: number }).mbPerSecond, 2),
    parseThroughputRatioVsBpmnModdle: round(ours.mbPerSecond / (parse.results['bpmn-moddle'] as { mbPerSecond: number }).mbPerSecond, 2),
    cacheGetRatioVsNodeCache: round((caches.ours?.getOpsPerSecond ?? 0) / (caches['node-cache']?.getOpsPerSecond ?? 1), 2),
    rssMbWith10kDefinitions: rss.rssMb,
    rssMbWith10kDefinitionsDefaultV8Flags: rssDefaultFlags.rssMb,
    rssMbWith10kDefinitionsTypeScriptSources: rssTypeScriptSources.rssMb,
    cacheSetRatioVsNodeCache: round((caches.ours?.setOpsPerSecond ?? 0) / (caches['node-cache']?.setOpsPerSecond ?? 1), 2),
    generatedAt: new Date().toISOString(),
    command: 'npm run bench:definitions',
    machine: {
      cpu: cpu[0]?.model ?? 'unknown',
      logicalCpus: cpu.length,
      memoryGiB: round(totalmem() / 2 ** 30, 1),
      os: `${platform()} ${release()} ${arch()}`,
      loadAverage1mAtStart: round(loadAtStart, 2),
      loadAverage1mAtEnd: round(loadavg()[0] ?? 0, 2),
    },
    node: process.version,
    method: {
      parse:
        `per parser and input: ${WARM_UP_MS} ms warm-up, then ${SAMPLES} samples taken in turns across parsers, each repeating ` +
        `parse plus walk to the routing facts for at least ${SAMPLE_MIN_MS} ms (the first parser of a turn rotates); ` +
        'the median sample is the time per file. ' +
        'MB/s is total UTF-8 bytes over the sum of the per-file medians; a ratio is our MB/s over theirs.',
      cache:
        `${CACHE_KEYS} keys, each operation over all keys in a fixed shuffled order, ${CACHE_SAMPLES} samples in turns ` +
        '(the first candidate of a turn rotates), median; ' +
        'node-cache with useClones false and no check period; a ratio is our operations per second over theirs.',
      rss:
        `a fresh node process with --expose-gc parses ${RSS_DEFINITIONS} distinct generated definitions ` +
        `(${RSS_TASKS_PER_DEFINITION} documented external tasks with properties and diagram shapes each) into the definition cache, ` +
        'reads every activity\'s properties into the properties cache, runs a full GC and reports process RSS. ' +
        `rssMbWith10kDefinitions runs the compiled JavaScript with the shipped NODE_OPTIONS (${SHIPPED_V8_FLAGS.join(' ')}); ` +
        'the other two figures run the compiled JavaScript with default V8 flags and the TypeScript sources with default V8 flags.',
    },
    parse: { inputs: inputs.map((input) => ({ name: input.name, bytes: input.bytes })), totalBytes: parse.totalBytes, parsers: parse.results },
    caches,
    rss,
    rssDefaultV8Flags: rssDefaultFlags,
    rssTypeScriptSources,
    redisFormat,
  };

  mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}

await main();

/**
 * Runs the extractor over every file of the BPMN corpus and checks the
 * outcome against MANIFEST.csv. The manifest's counts come from a text scan
 * by literal prefix; where that scan and a namespace-aware reading differ,
 * the table below says why and what the right value is.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseDefinition } from '../../src/definitions/bpmn-extractor.ts';
import type { Activity, DefinitionModel } from '../../src/definitions/model.ts';
import { BpmnParseError } from '../../src/errors.ts';

const CORPUS_CANDIDATES = [fileURLToPath(new URL('../../../shared/corpus/bpmn', import.meta.url)), '/work/shared/corpus/bpmn'];

/** The corpus directory; a missing corpus fails the whole suite instead of skipping it. */
const CORPUS = findCorpus();

function findCorpus(): string {
  const found = CORPUS_CANDIDATES.find((candidate) => existsSync(join(candidate, 'MANIFEST.csv')));
  if (found === undefined) {
    throw new Error(`BPMN corpus not found: no MANIFEST.csv in ${CORPUS_CANDIDATES.join(' or ')}`);
  }
  return found;
}

const TASK_TYPES: ReadonlySet<string> = new Set([
  'task',
  'userTask',
  'serviceTask',
  'scriptTask',
  'sendTask',
  'receiveTask',
  'manualTask',
  'businessRuleTask',
]);

/**
 * Files whose manifest `tasks` count is wrong. The scan counted every
 * `<prefix:userTask`, which includes the Zeebe extension element
 * `<zeebe:userTask />` that marks a BPMN user task as a Camunda user task.
 */
const TASK_COUNT_CORRECTIONS: ReadonlyMap<string, { manifest: number; actual: number }> = new Map([
  ['zeebe/bpmn-auto-layout/test/fixtures/blueprint.ai-email-support-agent.bpmn', { manifest: 15, actual: 11 }],
  ['zeebe/bpmn-auto-layout/test/fixtures/blueprint.enforcing-sla.bpmn', { manifest: 6, actual: 4 }],
  ['zeebe/bpmn-auto-layout/test/fixtures/blueprint.servicenow-integration-blueprint.bpmn', { manifest: 13, actual: 12 }],
  ['zeebe/bpmn-auto-layout/test/fixtures/camunda-8-tutorials.ai-agent-chat-with-tools.bpmn', { manifest: 6, actual: 5 }],
  ['zeebe/bpmn-auto-layout/test/fixtures/camunda-8-tutorials.ci-cd.bpmn', { manifest: 18, actual: 17 }],
  ['zeebe/camunda-8-tutorials/solutions/bank-ai-loan-approval/AI Email Support Agent.bpmn', { manifest: 15, actual: 11 }],
  ['zeebe/camunda-modeler/test/e2e/fixtures/user-task-form.bpmn', { manifest: 2, actual: 1 }],
]);

/**
 * Files that the manifest marks not well-formed but are. Its expat parse used
 * a space as namespace separator, and expat reports a syntax error for a
 * namespace name that contains the separator; this file binds
 * `xmlns:Process="http://A.3.0-MIO/A.3.0-export/Collapsed Process"`.
 */
const WELL_FORMED_CORRECTIONS: ReadonlySet<string> = new Set(['miwg/IBM_Process_Designer_8.0.1/A.3.0-export.bpmn']);

/**
 * Files with a BPMN 2.0 root that the manifest lists without a prefix bound
 * to the BPMN namespace: its scan missed namespace declarations in single
 * quotes.
 */
const BPMN_ROOT_CORRECTIONS: ReadonlySet<string> = new Set([
  'odd/camunda-bpm-platform/model-api/bpmn-model/src/test/resources/org/camunda/bpm/model/bpmn/ResourceRolesTest.bpmn',
]);

interface ManifestRow {
  file: string;
  wellFormed: boolean;
  dtd: boolean;
  bpmnRoot: boolean;
  tasks: number;
}

const ROWS = readManifest(join(CORPUS, 'MANIFEST.csv'));

const ACCEPTED = ROWS.filter((row) => ((row.wellFormed && !row.dtd) || WELL_FORMED_CORRECTIONS.has(row.file)) && row.bpmnRoot);
const NOT_BPMN = ROWS.filter((row) => row.wellFormed && !row.dtd && !row.bpmnRoot);
const WITH_DOCTYPE = ROWS.filter((row) => row.dtd);
const MALFORMED = ROWS.filter((row) => !row.wellFormed && !row.dtd && !WELL_FORMED_CORRECTIONS.has(row.file));

function readManifest(path: string): ManifestRow[] {
  const [header, ...records] = parseCsv(readFileSync(path, 'utf8'));
  if (header === undefined) {
    throw new Error(`${path} is empty`);
  }
  const column = (name: string): number => {
    const index = header.indexOf(name);
    if (index === -1) {
      throw new Error(`${path} has no column ${name}`);
    }
    return index;
  };
  const [file, wellFormed, dtd, rootPrefix, modelPrefixes, tasks] = [
    'file',
    'well_formed',
    'dtd',
    'root_prefix',
    'model_ns_prefixes',
    'tasks',
  ].map(column) as [number, number, number, number, number, number];

  return records.map((record) => ({
    file: record[file] ?? '',
    wellFormed: record[wellFormed] === '1',
    dtd: record[dtd] === '1',
    bpmnRoot:
      (record[rootPrefix] !== 'NO-DEFINITIONS' && record[modelPrefixes] !== '') || BPMN_ROOT_CORRECTIONS.has(record[file] ?? ''),
    tasks: Number(record[tasks]),
  }));
}

/** RFC 4180 CSV: quoted fields may contain commas, quotes (doubled) and newlines. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        field += '"';
        index += 1;
      } else if (char === '"') {
        quoted = false;
      } else {
        field += char;
      }
    } else if (char === '"') {
      quoted = true;
    } else if (char === ',') {
      record.push(field);
      field = '';
    } else if (char === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else if (char !== '\r') {
      field += char;
    }
  }
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}

function parseCorpusFile(file: string): DefinitionModel {
  return parseDefinition(readFileSync(join(CORPUS, file)));
}

function rejectionOf(file: string): BpmnParseError {
  try {
    parseCorpusFile(file);
  } catch (error) {
    if (error instanceof BpmnParseError) {
      return error;
    }
    throw error;
  }
  throw new Error(`${file} was accepted`);
}

function activityOf(model: DefinitionModel, id: string): Activity {
  const activity = model.activities.get(id);
  if (activity === undefined) {
    throw new Error(`activity ${id} missing; present: ${[...model.activities.keys()].join(', ')}`);
  }
  return activity;
}

describe('corpus manifest', () => {
  test('every category present', () => {
    expect(ROWS.length).toBeGreaterThan(250);
    expect(ACCEPTED.length).toBeGreaterThan(230);
    expect(NOT_BPMN.length).toBeGreaterThan(0);
    expect(MALFORMED.length).toBeGreaterThan(0);
    expect(WITH_DOCTYPE.filter((row) => row.file.startsWith('odd/')).length).toBeGreaterThan(0);
  });

  test('corrections name corpus files', () => {
    const files = new Set(ROWS.map((row) => row.file));
    for (const file of [...TASK_COUNT_CORRECTIONS.keys(), ...WELL_FORMED_CORRECTIONS, ...BPMN_ROOT_CORRECTIONS]) {
      expect(files.has(file) ? file : `missing: ${file}`).toBe(file);
    }
    for (const [file, correction] of TASK_COUNT_CORRECTIONS) {
      expect(ROWS.find((row) => row.file === file)?.tasks).toBe(correction.manifest);
    }
  });
});

describe('well-formed BPMN files parse', () => {
  test.each(ACCEPTED.map((row) => [row.file, row] as const))('%s', (_file, row) => {
    const model = parseCorpusFile(row.file);

    const tasks = [...model.activities.values()].filter((activity) => TASK_TYPES.has(activity.type)).length;
    expect(tasks).toBe(TASK_COUNT_CORRECTIONS.get(row.file)?.actual ?? row.tasks);
    expect(model.sourceBytes).toBeGreaterThan(0);
  });
});

describe('non-BPMN roots rejected', () => {
  test.each(NOT_BPMN.map((row) => [row.file] as const))('%s', (file) => {
    expect(rejectionOf(file).code).toBe('ERR_BPMN_NOT_BPMN');
  });
});

describe('DOCTYPE files rejected', () => {
  test.each(WITH_DOCTYPE.map((row) => [row.file] as const))('%s', (file) => {
    expect(rejectionOf(file).code).toBe('ERR_BPMN_DOCTYPE');
  });
});

describe('not well-formed files rejected', () => {
  test.each(MALFORMED.map((row) => [row.file] as const))('%s', (file) => {
    const error = rejectionOf(file);
    expect(['ERR_BPMN_MALFORMED', 'ERR_BPMN_DOCTYPE']).toContain(error.code);
    expect(error.line).toBeGreaterThan(0);
  });
});

describe('extracted values', () => {
  test('Camunda 7 external task properties', () => {
    const model = parseCorpusFile(
      'camunda7/camunda-bpm-platform/engine/src/test/resources/org/camunda/bpm/engine/test/api/externaltask/ExternalTaskServiceTest.testFetchAndLockWithExtensionProperties.bpmn20.xml',
    );
    const task = activityOf(model, 'externalTask');
    expect(task.topic).toBe('externalTaskTopic');
    expect(task.implementationType).toBe('external');
    expect({ ...task.properties }).toEqual({ property1: 'value1', property2: 'value2', property3: 'value3' });
    expect(activityOf(model, 'start').outgoing).toEqual(['externalTask']);
    expect(task.outgoing).toEqual(['end']);
  });

  test('Camunda 7 external message event', () => {
    const model = parseCorpusFile(
      'camunda7/camunda-bpm-platform/engine/src/test/resources/org/camunda/bpm/engine/test/api/externaltask/ExternalTaskSupportTest.messageIntermediateEvent.bpmn20.xml',
    );
    const event = activityOf(model, 'externalTask');
    expect(event.type).toBe('intermediateThrowEvent');
    expect(event.topic).toBe('externalTaskTopic');
    expect({ ...event.properties }).toEqual({ key1: 'val1', key2: 'val2' });
  });

  test('Camunda 7 input parameters', () => {
    const model = parseCorpusFile('camunda7/bpmn-js-properties-panel/test/spec/provider/camunda-platform/InputOutputParameter.bpmn');
    expect(activityOf(model, 'ServiceTask_1').inputs).toEqual([
      { name: 'input1', value: '${expression}' },
      { name: 'input2', value: undefined },
      { name: 'input3', value: undefined },
      { name: 'input4', value: undefined },
    ]);
  });

  test('Camunda 7 topic and script input', () => {
    const model = parseCorpusFile('camunda7/camunda-external-task-client-js/examples/granting-loans/assets/loan-process.bpmn');
    const task = activityOf(model, 'Task_1lvjtd4');
    expect(task.topic).toBe('creditScoreChecker');
    expect(task.inputs).toEqual([{ name: 'Input_2rvtuu9', value: undefined }]);
    expect(activityOf(model, 'ExclusiveGateway_12xhuxz').parentId).toBe('SubProcess_16kr5xn');
  });

  test('error declared after use', () => {
    const model = parseCorpusFile('camunda7/bpmn-engine/test/resources/bound-error-and-timer.bpmn');
    expect(activityOf(model, 'errorEvent').errorCode).toBe('404');
    expect(activityOf(model, 'errorEvent').attachedToRef).toBe('scriptTask');
    expect(activityOf(model, 'endInError').errorCode).toBe('404');
    expect(activityOf(model, 'timerEvent').errorCode).toBeUndefined();
    expect(activityOf(model, 'scriptTask').outgoing).toEqual(['end']);
  });

  test('Zeebe job type and task headers', () => {
    const model = parseCorpusFile('zeebe/camunda-8-js-sdk/src/__tests__/testdata/hello-world-complete-wi.bpmn');
    const task = activityOf(model, 'ServiceTask_0g6tf5f');
    expect(task.jobType).toBe('console-log-complete-wi');
    expect({ ...task.headers }).toEqual({ message: 'Hello World' });
    expect(activityOf(model, 'StartEvent_1').name).toBe('Start\n\n');
  });

  test('Zeebe io mapping and error code', () => {
    const model = parseCorpusFile('zeebe/spring-zeebe/example/src/main/resources/demoProcess.bpmn');
    const task = activityOf(model, 'taskA');
    expect(task.jobType).toBe('foo');
    expect(task.name).toBe('task A\n("foo")');
    expect(task.inputs).toEqual([{ name: 'foo', value: '= a' }]);
    expect(task.outputs).toEqual([{ name: 'bar', value: '= foo' }]);
    expect(activityOf(model, 'Event_00pv4d6').errorCode).toBe('DOESNT_WORK');
    expect(activityOf(model, 'Event_00pv4d6').outgoing).toEqual(['taskC']);
  });

  test('operaton prefix on Camunda namespace', () => {
    const model = parseCorpusFile(
      'odd/operaton/engine/src/test/resources/org/operaton/bpm/engine/test/bpmn/gateway/ExclusiveGatewayTest.testLoopWithManyIterations.bpmn',
    );
    expect(activityOf(model, 'ExclusiveGateway_2').outgoing).toEqual(['EndEvent_1', 'ExclusiveGateway_1']);
    expect(activityOf(model, 'ManualTask_1').type).toBe('scriptTask');
  });

  test('BPMN as default namespace', () => {
    const model = parseCorpusFile('odd/bpmn-moddle/test/fixtures/bpmn/simple-default-ns.bpmn');
    expect(activityOf(model, 'Task_1').parentId).toBe('SubProcess_1');
    expect(activityOf(model, 'StartEvent_1').outgoing).toEqual(['Task_1']);
  });

  test('QName attachedToRef', () => {
    const model = parseCorpusFile('miwg/IBM_Process_Designer_8.0.1/A.3.0-export.bpmn');
    const boundary = [...model.activities.values()].find((activity) => activity.type === 'boundaryEvent');
    expect(boundary?.attachedToRef).toBe('bpmnid-6c0bb0bb-e7c4-412a-a7b7-d84807aa35f9');
  });

  test('ISO-8859-1 file read as declared', () => {
    // The id holds the UTF-8 bytes of 識別子 in a file that declares ISO-8859-1,
    // so each byte becomes one Latin-1 character, as a Java parser reads it.
    const model = parseCorpusFile(
      'odd/bpmn-visualization-js/test/fixtures/bpmn/xml-parsing/miwg-A.1.0_modified_02_japanese_characters.bpmn',
    );
    const expectedId = `${Buffer.from('識別子', 'utf8').toString('latin1')}_ec59e164-68b4-4f94-98de-ffb1c58a84af`;
    expect(activityOf(model, expectedId).name).toBe('Task 1');
  });
});

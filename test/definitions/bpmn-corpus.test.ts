/**
 * Runs the extractor over every file of the BPMN corpus and checks the
 * outcome against MANIFEST.csv. The manifest's counts come from a text scan
 * by literal prefix; where that scan and a namespace-aware reading differ,
 * the tables below say why and what the right value is. Where the corpus is
 * absent, the suite is skipped with a test that says so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseDefinition } from '../../src/definitions/bpmn-extractor.ts';
import type { Activity, DefinitionModel } from '../../src/definitions/model.ts';
import { BpmnParseError } from '../../src/errors.ts';

/** Folders searched for the corpus: only BPMN_CORPUS_DIR when it is set, else the shared folder beside the project. */
const CORPUS_CANDIDATES = process.env.BPMN_CORPUS_DIR
  ? [process.env.BPMN_CORPUS_DIR]
  : [fileURLToPath(new URL('../../../shared/corpus/bpmn', import.meta.url)), '/work/shared/corpus/bpmn'];

/** The corpus folder, or undefined when none of the candidates has a MANIFEST.csv. */
const CORPUS = CORPUS_CANDIDATES.find((candidate) => existsSync(join(candidate, 'MANIFEST.csv')));

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

/**
 * Files whose manifest `zeebe_taskDefinition` count is not the number of
 * activities with a job type: a `<zeebe:taskDefinition />` without `type`
 * defines none.
 */
const JOB_TYPE_CORRECTIONS: ReadonlyMap<string, { manifest: number; actual: number }> = new Map([
  ['zeebe/camunda-modeler/resources/diagram/lint-errors.bpmn', { manifest: 4, actual: 3 }],
]);

/**
 * Files whose manifest `zeebe_taskHeaders` count is not the number of
 * activities with task headers. ci-cd.bpmn has three empty
 * `<zeebe:taskHeaders />`; in ExecutionListenerProps.bpmn the headers belong
 * to execution listeners, whose jobs are not the activity's.
 */
const TASK_HEADER_CORRECTIONS: ReadonlyMap<string, { manifest: number; actual: number }> = new Map([
  ['zeebe/bpmn-auto-layout/test/fixtures/camunda-8-tutorials.ci-cd.bpmn', { manifest: 14, actual: 11 }],
  ['zeebe/bpmn-js-properties-panel/test/spec/provider/zeebe/ExecutionListenerProps.bpmn', { manifest: 2, actual: 0 }],
]);

/**
 * Files whose manifest `camunda_properties` count is not the number of
 * activities with properties: the scan also counted `camunda:properties` of
 * processes, one inside a `camunda:formField`, and one whose only property
 * has no name (the engine skips it too).
 */
const PROPERTY_CORRECTIONS: ReadonlyMap<string, { manifest: number; actual: number }> = new Map([
  ['camunda7/bpmn-engine/test/resources/issue-187.bpmn', { manifest: 1, actual: 0 }],
  ['camunda7/bpmn-js-properties-panel/test/spec/provider/shared/ExtensionPropertiesProps.camunda.bpmn', { manifest: 5, actual: 3 }],
  ['camunda7/camunda-bpm-examples/process-engine-plugin/custom-history-level/src/main/resources/process-history-activity.bpmn', { manifest: 1, actual: 0 }],
  [
    'camunda7/camunda-bpm-platform/engine/src/test/resources/org/camunda/bpm/engine/test/bpmn/parse/BpmnParseTest.testParseEmptyExtensionProperty.bpmn',
    { manifest: 1, actual: 0 },
  ],
]);

/**
 * Files whose only `camunda:inputOutput` is inside a `camunda:connector`,
 * where it maps the connector's request. The extractor reads an activity's
 * own mappings only, so these activities have none.
 */
const CONNECTOR_MAPPING_FILES: ReadonlySet<string> = new Set([
  'camunda7/bpmn-js-properties-panel/test/spec/provider/camunda-platform/ConnectorInputProps.bpmn',
  'camunda7/camunda-bpm-examples/servicetask/rest-service/src/main/resources/invokeRestService.bpmn',
  'camunda7/camunda-bpm-platform/engine-plugins/connect-plugin/src/test/resources/org/camunda/connect/plugin/ConnectProcessEnginePluginTest.testConnectorBpmnErrorThrownInScriptResourceNoAsyncAfterJobIsCreated.bpmn',
  'camunda7/camunda-bpm-platform/engine-plugins/connect-plugin/src/test/resources/org/camunda/connect/plugin/ConnectProcessEnginePluginTest.testIntermediateMessageThrowEventWithConnector.bpmn',
  'camunda7/camunda-bpm-platform/engine-plugins/connect-plugin/src/test/resources/org/camunda/connect/plugin/ConnectProcessEnginePluginTest.testMessageEndEventWithConnector.bpmn',
  'camunda7/camunda-bpm-platform/engine-plugins/connect-plugin/src/test/resources/org/camunda/connect/plugin/ConnectProcessEnginePluginTest.testSendTaskWithConnector.bpmn',
]);

const ZEEBE_NS = 'http://camunda.org/schema/zeebe/1.0';
const CAMUNDA_NAMESPACES = ['http://camunda.org/schema/1.0/bpmn', 'http://operaton.org/schema/1.0/bpmn'];

/** Extension counts of the manifest: elements or attributes with the literal `camunda:` or `zeebe:` prefix. */
interface ExtensionCounts {
  camundaProperties: number;
  camundaInputOutput: number;
  camundaExternal: number;
  camundaTopic: number;
  camundaConnector: number;
  zeebeTaskDefinition: number;
  zeebeTaskHeaders: number;
  zeebeIoMapping: number;
}

interface ManifestRow {
  file: string;
  wellFormed: boolean;
  dtd: boolean;
  bpmnRoot: boolean;
  tasks: number;
  extensions: ExtensionCounts;
}

const ROWS = CORPUS === undefined ? [] : readManifest(join(CORPUS, 'MANIFEST.csv'));

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

  const count = (record: string[], name: string): number => Number(record[column(name)]);

  return records.map((record) => ({
    file: record[file] ?? '',
    wellFormed: record[wellFormed] === '1',
    dtd: record[dtd] === '1',
    bpmnRoot:
      (record[rootPrefix] !== 'NO-DEFINITIONS' && record[modelPrefixes] !== '') || BPMN_ROOT_CORRECTIONS.has(record[file] ?? ''),
    tasks: Number(record[tasks]),
    extensions: {
      camundaProperties: count(record, 'camunda_properties'),
      camundaInputOutput: count(record, 'camunda_inputOutput'),
      camundaExternal: count(record, 'camunda_external'),
      camundaTopic: count(record, 'camunda_topic'),
      camundaConnector: count(record, 'camunda_connector'),
      zeebeTaskDefinition: count(record, 'zeebe_taskDefinition'),
      zeebeTaskHeaders: count(record, 'zeebe_taskHeaders'),
      zeebeIoMapping: count(record, 'zeebe_ioMapping'),
    },
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

function readCorpusFile(file: string): Buffer {
  return readFileSync(join(CORPUS as string, file));
}

function parseCorpusFile(file: string): DefinitionModel {
  return parseDefinition(readCorpusFile(file));
}

/** Counts the activities that satisfy a condition. */
function countActivities(model: DefinitionModel, condition: (activity: Activity) => boolean): number {
  let count = 0;
  for (const activity of model.activities.values()) {
    if (condition(activity)) {
      count += 1;
    }
  }
  return count;
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

if (CORPUS === undefined) {
  const reason = `BPMN corpus not found: no MANIFEST.csv in ${CORPUS_CANDIDATES.join(' or ')}; set BPMN_CORPUS_DIR to its folder to run these tests`;
  console.warn(`skipping the corpus tests. ${reason}`);
  test.skip('corpus tests, corpus absent', () => undefined);
} else {
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

    test('extension corrections match manifest', () => {
      const rowOf = (file: string): ManifestRow => {
        const row = ROWS.find((candidate) => candidate.file === file);
        if (row === undefined) {
          throw new Error(`missing: ${file}`);
        }
        return row;
      };
      for (const [file, correction] of JOB_TYPE_CORRECTIONS) {
        expect(rowOf(file).extensions.zeebeTaskDefinition).toBe(correction.manifest);
      }
      for (const [file, correction] of TASK_HEADER_CORRECTIONS) {
        expect(rowOf(file).extensions.zeebeTaskHeaders).toBe(correction.manifest);
      }
      for (const [file, correction] of PROPERTY_CORRECTIONS) {
        expect(rowOf(file).extensions.camundaProperties).toBe(correction.manifest);
      }
      for (const file of CONNECTOR_MAPPING_FILES) {
        expect(rowOf(file).extensions.camundaConnector).toBeGreaterThan(0);
        expect(rowOf(file).extensions.camundaInputOutput).toBe(1);
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

  describe('extension counts match manifest', () => {
    // Counted per activity: topics and external types come from the Camunda or the Operaton namespace under any prefix.
    test.each(ACCEPTED.map((row) => [row.file, row] as const))('%s', (_file, row) => {
      const model = parseCorpusFile(row.file);
      const text = readCorpusFile(row.file).toString('latin1');
      const { extensions } = row;

      expect(countActivities(model, (activity) => activity.topic !== undefined)).toBe(extensions.camundaTopic);
      expect(countActivities(model, (activity) => activity.implementationType === 'external')).toBe(extensions.camundaExternal);
      expect(countActivities(model, (activity) => activity.jobType !== undefined)).toBe(
        JOB_TYPE_CORRECTIONS.get(row.file)?.actual ?? extensions.zeebeTaskDefinition,
      );
      expect(countActivities(model, (activity) => Object.keys(activity.headers).length > 0)).toBe(
        TASK_HEADER_CORRECTIONS.get(row.file)?.actual ?? extensions.zeebeTaskHeaders,
      );

      // The model merges Camunda and Zeebe properties and mappings, so each is compared only where the other namespace is absent.
      const withProperties = countActivities(model, (activity) => Object.keys(activity.properties).length > 0);
      const withMappings = countActivities(model, (activity) => activity.inputs.length + activity.outputs.length > 0);
      if (!text.includes(ZEEBE_NS)) {
        expect(withProperties).toBe(PROPERTY_CORRECTIONS.get(row.file)?.actual ?? extensions.camundaProperties);
        expect(withMappings).toBe(CONNECTOR_MAPPING_FILES.has(row.file) ? 0 : extensions.camundaInputOutput);
      }
      if (!CAMUNDA_NAMESPACES.some((namespace) => text.includes(namespace))) {
        expect(withMappings).toBe(extensions.zeebeIoMapping);
      }
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
}

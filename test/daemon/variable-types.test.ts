import { request } from 'undici';

import type { Daemon } from '../../src/daemon/daemon.ts';
import { deployBpmn, listIncidents, startProcessInstance, waitFor, type Incident } from '../../src/demo/engine-rest.ts';
import { parseJson, stringifyJson } from '../../src/lossless-json.ts';
import { linearProcess } from '../support/bpmn.ts';
import { engineGet, startDaemon } from '../support/daemon.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

/** A variable as the engine's history returns it with `deserializeValues=false`. */
interface HistoricVariable {
  id: string;
  name: string;
  type: string;
  value: unknown;
  valueInfo: Record<string, unknown>;
}

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** Returns what the service sends back: a new value of the same kind for each variable, plus new variables. */
function resultVariables(): Record<string, unknown> {
  return {
    text: 'A-1 checked',
    flag: true,
    small: 8,
    count: 4,
    large: 2 ** 40 + 1,
    exact: 9_007_199_254_740_995n,
    // JSON has no 13.0: the fetched Double type keeps it a Double.
    price: 13,
    due: '2026-02-01T09:30:00+01:00',
    order: { items: [{ sku: 'X', quantity: 3 }], ref: 9_007_199_254_740_995n },
    doc: '<order id="2"/>',
    bean: { name: 'b', tags: ['new'] },
    raw: base64('world'),
    file: { filename: 'b.txt', mimeType: 'text/plain', encoding: 'UTF-8', content: base64('new content') },
    empty: null,
    shipDate: '2026-03-01T12:00:00.250Z',
    invoice: { number: 17 },
    inferredJson: { a: [1, 2] },
    inferredLong: 9_007_199_254_740_997n,
  };
}

describe('typed variables on a real engine', () => {
  const url = engineUrl();
  const key = uniqueProcessKey('Types');
  let service: TestServer;
  let daemon: Daemon;

  beforeAll(async () => {
    service = await startTestServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const variables = request.url === '/late' ? { shipDate: 'next week' } : resultVariables();
      response.end(stringifyJson({ variables }));
    });
    await deployBpmn(url, [
      { name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Roundtrip', topic: key }]) },
      { name: `${key}-late.bpmn`, xml: linearProcess(`${key}_late`, [{ id: 'Ship', topic: key, properties: { path: '/late' } }]) },
    ]);
    daemon = startDaemon(key, `
engine:
  baseUrl: ${url}
  asyncResponseTimeout: 2s
  failure: { retries: 0 }
services:
  checker: { baseUrl: '${service.url}' }
topics:
  - topic: ${key}
    service: checker
    path: /check
    variableTypes: { shipDate: Date, invoice: 'Object:java.util.LinkedHashMap' }
`);
  });

  afterAll(async () => {
    await daemon.stop(5_000);
    await service.close();
  });

  async function incidentOf(processInstanceId: string): Promise<Incident> {
    const [incident] = await waitFor(async () => {
      const incidents = await listIncidents(url, { processInstanceId });
      return incidents.length > 0 ? incidents : undefined;
    }, { timeoutMs: 30_000, description: `an incident on ${processInstanceId}` });
    return incident as Incident;
  }

  test('declared type misfit raises an incident', async () => {
    const instance = await startProcessInstance(url, `${key}_late`);

    const incident = await incidentOf(instance.id);
    expect(incident.incidentMessage).toContain('variable "shipDate" is declared Date but the value "next week" does not fit it');
  });

  test('unreadable Json variable raises an incident', async () => {
    const instance = await startProcessInstance(url, key, { typedVariables: { order: { type: 'Json', value: '{"items": [' } } });

    const incident = await incidentOf(instance.id);
    expect(incident.incidentMessage).toContain('the task\'s variables could not be read: variable "order" contains text that is not valid JSON');
  });

  test('each type round-trips through a service', async () => {
    const instance = await startProcessInstance(url, key, {
      typedVariables: {
        text: { type: 'String', value: 'A-1' },
        flag: { type: 'Boolean', value: false },
        small: { type: 'Short', value: 7 },
        count: { type: 'Integer', value: 3 },
        large: { type: 'Long', value: 2 ** 40 },
        exact: { type: 'Long', value: '9007199254740993' },
        price: { type: 'Double', value: 12.5 },
        due: { type: 'Date', value: '2026-01-31T09:30:00.000+0100' },
        order: { type: 'Json', value: '{"items":[{"sku":"X","quantity":2}],"ref":9007199254740993}' },
        doc: { type: 'Xml', value: '<order id="1"/>' },
        bean: { type: 'Object', value: '{"name":"a"}', valueInfo: { objectTypeName: 'java.util.LinkedHashMap', serializationDataFormat: 'application/json' } },
        raw: { type: 'Bytes', value: base64('hello') },
        file: { type: 'File', value: base64('file content'), valueInfo: { filename: 'a.txt', mimeType: 'text/plain', encoding: 'UTF-8' } },
        empty: { type: 'Null', value: null },
      },
    });
    await waitFor(async () => (await engineGet<{ endTime: string | null }>(url, `/history/process-instance/${instance.id}`)).endTime !== null, {
      timeoutMs: 30_000,
      description: 'the instance to end',
    });

    // What the service received: faithful JSON, big integers as exact digits.
    const received = service.requests.at(-1)?.body ?? '';
    const sent = (parseJson(received) as { variables: Record<string, unknown> }).variables;
    expect(received).toContain('"exact":9007199254740993');
    expect(received).toContain('"ref":9007199254740993');
    expect(sent).toEqual({
      text: 'A-1',
      flag: false,
      small: 7,
      count: 3,
      large: 2 ** 40,
      exact: 9_007_199_254_740_993n,
      price: 12.5,
      due: '2026-01-31T08:30:00.000Z',
      order: { items: [{ sku: 'X', quantity: 2 }], ref: 9_007_199_254_740_993n },
      doc: '<order id="1"/>',
      bean: { name: 'a' },
      raw: base64('hello'),
      file: { filename: 'a.txt', mimeType: 'text/plain', encoding: 'UTF-8', content: base64('file content') },
      empty: null,
    });

    // What the engine stored, read back from its history.
    const response = await request(`${url}/history/variable-instance?processInstanceId=${instance.id}&deserializeValues=false`);
    const history = parseJson(await response.body.text()) as HistoricVariable[];
    const stored = new Map(history.map((variable) => [variable.name, variable]));
    const typeOf = (name: string) => stored.get(name)?.type;
    const valueOf = (name: string) => stored.get(name)?.value;

    expect(Object.fromEntries(history.map((variable) => [variable.name, variable.type]))).toEqual({
      text: 'String',
      flag: 'Boolean',
      small: 'Short',
      count: 'Integer',
      large: 'Long',
      exact: 'Long',
      price: 'Double',
      due: 'Date',
      order: 'Json',
      doc: 'Xml',
      bean: 'Object',
      raw: 'Bytes',
      file: 'File',
      empty: 'Null',
      shipDate: 'Date',
      invoice: 'Object',
      inferredJson: 'Json',
      inferredLong: 'Long',
    });
    expect(typeOf('exact')).toBe('Long');
    expect(valueOf('text')).toBe('A-1 checked');
    expect(valueOf('flag')).toBe(true);
    expect(valueOf('small')).toBe(8);
    expect(valueOf('count')).toBe(4);
    expect(valueOf('large')).toBe(2 ** 40 + 1);
    expect(valueOf('exact')).toBe(9_007_199_254_740_995n);
    expect(valueOf('price')).toBe(13);
    expect(Date.parse(valueOf('due') as string)).toBe(Date.parse('2026-02-01T09:30:00+01:00'));
    expect(parseJson(valueOf('order') as string)).toEqual({ items: [{ sku: 'X', quantity: 3 }], ref: 9_007_199_254_740_995n });
    expect(valueOf('doc')).toBe('<order id="2"/>');
    expect(JSON.parse(valueOf('bean') as string)).toEqual({ name: 'b', tags: ['new'] });
    expect(stored.get('bean')?.valueInfo).toEqual({ objectTypeName: 'java.util.LinkedHashMap', serializationDataFormat: 'application/json' });
    expect(valueOf('empty')).toBeNull();
    expect(Date.parse(valueOf('shipDate') as string)).toBe(Date.parse('2026-03-01T12:00:00.250Z'));
    expect(JSON.parse(valueOf('invoice') as string)).toEqual({ number: 17 });
    expect(stored.get('invoice')?.valueInfo).toMatchObject({ objectTypeName: 'java.util.LinkedHashMap' });
    expect(JSON.parse(valueOf('inferredJson') as string)).toEqual({ a: [1, 2] });
    expect(valueOf('inferredLong')).toBe(9_007_199_254_740_997n);

    // The history leaves binary values out; their content has its own endpoint.
    const dataOf = async (name: string) => (await request(`${url}/history/variable-instance/${stored.get(name)?.id}/data`)).body.text();
    expect(await dataOf('raw')).toBe('world');
    expect(stored.get('file')?.valueInfo).toMatchObject({ filename: 'b.txt', mimeType: 'text/plain', encoding: 'UTF-8' });
    expect(await dataOf('file')).toBe('new content');
  });
});

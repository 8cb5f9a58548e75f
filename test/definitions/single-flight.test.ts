import { parseConfig } from '../../src/config/load.ts';
import { DefinitionRepository, type DefinitionSource } from '../../src/definitions/repository.ts';
import { deployBpmn } from '../../src/demo/engine-rest.ts';
import { Camunda7Rest } from '../../src/engine/camunda7/rest.ts';
import { linearProcess } from '../support/bpmn.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';

/** Wraps the real engine REST client and counts the XML fetches. */
class CountingSource implements DefinitionSource {
  fetches = 0;
  readonly #rest: Camunda7Rest;

  constructor(rest: Camunda7Rest) {
    this.#rest = rest;
  }

  definitionXml(definitionId: string): Promise<string> {
    this.fetches += 1;
    return this.#rest.definitionXml(definitionId);
  }
}

describe('definition repository on the real engine', () => {
  const config = parseConfig(`engine: { baseUrl: ${engineUrl()} }\ntopics: [{ topic: unused }]\n`, { env: {} });
  const rest = new Camunda7Rest(config.engine);

  afterAll(async () => {
    await rest.close();
  });

  test('concurrent misses for one id cause one fetch', async () => {
    const key = uniqueProcessKey('SingleFlight');
    const [definition] = await deployBpmn(engineUrl(), [{ name: `${key}.bpmn`, xml: linearProcess(key, [{ id: 'Work', topic: key }]) }]);
    const source = new CountingSource(rest);
    const repository = new DefinitionRepository(source, config.cache.definitions);

    const models = await Promise.all(Array.from({ length: 20 }, () => repository.get(definition!.id)));

    expect(source.fetches).toBe(1);
    expect(new Set(models).size).toBe(1);
    expect(models[0]?.activities.get('Work')?.topic).toBe(key);
  });

  test('unknown definition id rejects with the engine error', async () => {
    const repository = new DefinitionRepository(new CountingSource(rest), config.cache.definitions);

    await expect(repository.get('no-such-definition:1:x')).rejects.toThrow(/not found/);
  });
});

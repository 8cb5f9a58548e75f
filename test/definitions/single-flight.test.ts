import { parseConfig } from '../../src/config/load.ts';
import { DefinitionRepository } from '../../src/definitions/repository.ts';
import { deployBpmn } from '../../src/demo/engine-rest.ts';
import { Camunda7Rest } from '../../src/engine/camunda7/rest.ts';
import { linearProcess } from '../support/bpmn.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';
import { CountingSource } from '../support/counting-source.ts';

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

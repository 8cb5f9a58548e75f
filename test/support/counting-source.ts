import type { DefinitionSource } from '../../src/definitions/repository.ts';
import type { Camunda7Rest } from '../../src/engine/camunda7/rest.ts';

/** Wraps the real engine REST client and counts the XML fetches. */
export class CountingSource implements DefinitionSource {
  fetches = 0;
  readonly #rest: Camunda7Rest;

  constructor(rest: Camunda7Rest) {
    this.#rest = rest;
  }

  definitionXml(definitionId: string): Promise<string> {
    this.fetches += 1;
    return this.#rest.definitionXml(definitionId);
  }

  latestDefinitionId(processKey: string): Promise<string> {
    return this.#rest.latestDefinitionId(processKey);
  }
}

/**
 * Builds the engine adapter and the definition source that
 * `engine.type` selects, so nothing above src/engine/ names an engine.
 */
import type { EngineOptions } from '../config/types.ts';
import type { DefinitionSource } from '../definitions/repository.ts';
import { silentLogger, type Logger } from '../telemetry/logger.ts';
import type { EngineAdapter, EngineCallObserver } from './adapter.ts';
import { Camunda7Adapter } from './camunda7/adapter.ts';
import { Camunda7Rest } from './camunda7/rest.ts';
import { Camunda8Adapter } from './camunda8/adapter.ts';
import { Camunda8Definitions } from './camunda8/definitions.ts';

/** A definition source with connections of its own, closed with its owner. */
export interface EngineDefinitionSource extends DefinitionSource {
  close(): Promise<void>;
}

export interface EngineAdapterOptions {
  /** Connections of the keep-alive pool (Camunda 7); each fetch loop keeps one busy during its long poll. */
  connections: number;
  observe?: EngineCallObserver;
  logger?: Logger;
}

/** Creates the adapter of `engine.type`. */
export function createEngineAdapter(engine: EngineOptions, options: EngineAdapterOptions): EngineAdapter {
  switch (engine.type) {
    case 'camunda7':
      return new Camunda7Adapter(engine, { connections: options.connections, observe: options.observe, logger: options.logger });
    case 'camunda8':
      return new Camunda8Adapter(engine, { observe: options.observe, logger: options.logger });
  }
}

/** Creates the source of definition XML of `engine.type`. */
export function createDefinitionSource(engine: EngineOptions, logger: Logger = silentLogger()): EngineDefinitionSource {
  switch (engine.type) {
    case 'camunda7':
      return new Camunda7Rest(engine, { logger });
    case 'camunda8':
      return new Camunda8Definitions(engine, { logger });
  }
}

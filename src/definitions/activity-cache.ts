/**
 * Per-activity caches in front of the definition cache: the extension
 * properties that routing reads for every task, and the documentation. They
 * are far smaller than a parsed definition, so they can outlive it in memory
 * and spare a reload of the whole definition.
 */
import type { CacheOptions } from '../config/types.ts';
import { AdaptiveCache, type AdaptiveCacheStats, type Clock } from './adaptive-cache.ts';
import type { Activity, DefinitionModel } from './model.ts';
import type { DefinitionRepository } from './repository.ts';

/** The properties of one activity that routing reads. */
export interface ActivityProperties {
  activityId: string;
  /** False when the definition has no activity of this id. The topic's defaults then apply alone. */
  found: boolean;
  /** `camunda:properties` / `zeebe:properties` entries. */
  properties: Readonly<Record<string, string>>;
  /** `zeebe:taskHeaders` entries. */
  headers: Readonly<Record<string, string>>;
  /** Targets of the `zeebe:input` mappings of a Camunda 8 job worker task; empty for other activities. */
  inputVariables: readonly string[];
  /**
   * True when every outgoing sequence flow of the activity leads to an end
   * event of its process (not of a sub-process), so completing the task
   * likely ends the process instance. Other branches still running are not
   * known here.
   */
  leadsToEnd: boolean;
}

interface DocumentationEntry {
  text: string | undefined;
}

/** Estimated bookkeeping per entry (the LRU's node, the slot, the entry object), an estimate. */
const ENTRY_OVERHEAD_BYTES = 200;

const EMPTY_RECORD: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

const NO_INPUTS: readonly string[] = Object.freeze([]);

/**
 * Returns the key of an activity in the properties and documentation caches:
 * `<definitionId>:<activityId>`. Definition ids contain colons
 * (`order:3:7f0c...`), but activity ids are XML NCNames, which do not, so the
 * last colon separates the two.
 */
export function activityKey(definitionId: string, activityId: string): string {
  return `${definitionId}:${activityId}`;
}

export interface ActivityCachesOptions {
  properties: CacheOptions;
  docs: CacheOptions;
  reportedEntries?: number;
  clock?: Clock;
}

/** The properties and documentation caches, loading through the definition repository on a miss. */
export class ActivityCaches {
  readonly #definitions: DefinitionRepository;
  readonly properties: AdaptiveCache<ActivityProperties>;
  readonly docs: AdaptiveCache<DocumentationEntry>;

  constructor(definitions: DefinitionRepository, options: ActivityCachesOptions) {
    this.#definitions = definitions;
    this.properties = new AdaptiveCache<ActivityProperties>({
      name: 'properties',
      ...options.properties,
      sizeOf: (key, value) => ENTRY_OVERHEAD_BYTES + 2 * key.length + recordBytes(value.properties) + recordBytes(value.headers)
        + value.inputVariables.reduce((bytes, name) => bytes + 2 * name.length, 0),
      reportedEntries: options.reportedEntries,
      clock: options.clock,
    });
    this.docs = new AdaptiveCache<DocumentationEntry>({
      name: 'docs',
      ...options.docs,
      sizeOf: (key, value) => ENTRY_OVERHEAD_BYTES + 2 * key.length + 2 * (value.text?.length ?? 0),
      reportedEntries: options.reportedEntries,
      clock: options.clock,
    });
  }

  /** Returns an activity's cached properties, counted as a hit, or undefined (counted as a miss) when {@link activityProperties} must load them. */
  cachedProperties(definitionId: string, activityId: string): ActivityProperties | undefined {
    return this.properties.get(activityKey(definitionId, activityId));
  }

  /** Returns an activity's properties, loading its definition on a miss; rejects as {@link DefinitionRepository.get} does. */
  async activityProperties(definitionId: string, activityId: string): Promise<ActivityProperties> {
    const cached = this.cachedProperties(definitionId, activityId);
    if (cached !== undefined) {
      return cached;
    }
    return this.loadProperties(definitionId, activityId);
  }

  /** Loads an activity's properties from its definition and caches them; for a miss of {@link cachedProperties}. */
  async loadProperties(definitionId: string, activityId: string): Promise<ActivityProperties> {
    const key = activityKey(definitionId, activityId);
    const model = await this.#definitions.get(definitionId);
    const activity = model.activities.get(activityId);
    const entry = Object.freeze({
      activityId,
      found: activity !== undefined,
      properties: activity?.properties ?? EMPTY_RECORD,
      headers: activity?.headers ?? EMPTY_RECORD,
      inputVariables: activity === undefined ? NO_INPUTS : Object.freeze([...inputVariablesOf(activity)]),
      leadsToEnd: activity !== undefined && leadsToEnd(model, activity),
    });
    this.properties.set(key, entry);
    return entry;
  }

  /** Returns an activity's documentation (undefined when it has none or does not exist), loading its definition on a miss. */
  async documentation(definitionId: string, activityId: string): Promise<string | undefined> {
    const key = activityKey(definitionId, activityId);
    const cached = this.docs.get(key);
    if (cached !== undefined) {
      return cached.text;
    }

    const activity: Activity | undefined = (await this.#definitions.get(definitionId)).activities.get(activityId);
    this.docs.set(key, { text: activity?.documentation });
    return activity?.documentation;
  }

  stats(): { properties: AdaptiveCacheStats; docs: AdaptiveCacheStats } {
    return { properties: this.properties.stats(), docs: this.docs.stats() };
  }

  clear(): void {
    this.properties.clear();
    this.docs.clear();
  }
}

/** UTF-16 size of a record's keys and values; the model shares these strings, so this overstates what one entry adds. */
function recordBytes(record: Readonly<Record<string, string>>): number {
  let bytes = 0;
  for (const key in record) {
    bytes += 2 * (key.length + (record[key] as string).length);
  }
  return bytes;
}

/** Returns whether every outgoing flow of a top-level activity leads straight to a top-level end event. */
function leadsToEnd(model: DefinitionModel, activity: Activity): boolean {
  if (activity.parentId !== undefined || activity.outgoing.length === 0) {
    return false;
  }
  return activity.outgoing.every((targetId) => {
    const target = model.activities.get(targetId);
    return target !== undefined && target.type === 'endEvent' && target.parentId === undefined;
  });
}

/**
 * Returns the variables a Camunda 8 job worker task declares as its inputs:
 * the targets of its `zeebe:input` mappings. Empty for other activities,
 * whose input parameters are not a request contract.
 */
export function inputVariablesOf(activity: Activity): readonly string[] {
  return activity.jobType === undefined ? [] : activity.inputs.map((input) => input.name);
}

/**
 * JSON form of a {@link DefinitionModel}, as the Redis tier stores it. The
 * format version is part of every Redis key and of the value, so a daemon
 * reads only entries that its own version wrote.
 */
import type { Activity, DefinitionModel, IoMapping, ProcessInfo } from './model.ts';
import { frozenRecord } from './frozen-record.ts';

/**
 * Version of the stored model.
 *
 * NOTE: raise it whenever model.ts or the extractor's rules change what a
 * model contains; daemons of the old and the new version then ignore each
 * other's entries.
 */
export const MODEL_FORMAT_VERSION = 1;

interface EncodedModel {
  format: number;
  targetNamespace: string | null;
  processes: ProcessInfo[];
  activities: Activity[];
  sourceBytes: number;
}

/** Serializes a model to JSON text. */
export function encodeModel(model: DefinitionModel): string {
  const encoded: EncodedModel = {
    format: MODEL_FORMAT_VERSION,
    targetNamespace: model.targetNamespace ?? null,
    processes: [...model.processes],
    activities: [...model.activities.values()],
    sourceBytes: model.sourceBytes,
  };
  return JSON.stringify(encoded);
}

/** Raised by {@link decodeModel} for text that is not a model of {@link MODEL_FORMAT_VERSION}. */
export class ModelFormatError extends Error {
  constructor(reason: string) {
    super(`stored definition model is unusable: ${reason}`);
    this.name = 'ModelFormatError';
  }
}

/**
 * Parses JSON text from {@link encodeModel} back to a frozen model with the
 * same shape as the extractor's.
 *
 * @throws ModelFormatError when the text is not JSON, has another format
 *   version, or a field has the wrong type.
 */
export function decodeModel(text: string): DefinitionModel {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ModelFormatError(`not JSON (${(error as Error).message})`);
  }

  const encoded = raw as Partial<EncodedModel> | null;
  if (encoded === null || typeof encoded !== 'object') {
    throw new ModelFormatError('not an object');
  }
  if (encoded.format !== MODEL_FORMAT_VERSION) {
    throw new ModelFormatError(`format ${String(encoded.format)}, expected ${MODEL_FORMAT_VERSION}`);
  }
  if (!Array.isArray(encoded.processes) || !Array.isArray(encoded.activities) || typeof encoded.sourceBytes !== 'number') {
    throw new ModelFormatError('processes, activities or sourceBytes missing');
  }

  const activities = new Map<string, Activity>();
  for (const activity of encoded.activities) {
    const decoded = decodeActivity(activity);
    activities.set(decoded.id, decoded);
  }
  return {
    targetNamespace: optionalString(encoded.targetNamespace, 'targetNamespace'),
    processes: Object.freeze(encoded.processes.map(decodeProcess)),
    activities,
    sourceBytes: encoded.sourceBytes,
  };
}

function decodeProcess(process: ProcessInfo): ProcessInfo {
  return Object.freeze({
    id: requiredString(process.id, 'process id'),
    name: optionalString(process.name, 'process name'),
    isExecutable: process.isExecutable === true,
    versionTag: optionalString(process.versionTag, 'versionTag'),
  });
}

function decodeActivity(activity: Activity): Activity {
  if (activity === null || typeof activity !== 'object') {
    throw new ModelFormatError('an activity is not an object');
  }
  return Object.freeze({
    id: requiredString(activity.id, 'activity id'),
    name: optionalString(activity.name, 'name'),
    type: requiredString(activity.type, 'type'),
    processId: requiredString(activity.processId, 'processId'),
    parentId: optionalString(activity.parentId, 'parentId'),
    topic: optionalString(activity.topic, 'topic'),
    implementationType: optionalString(activity.implementationType, 'implementationType'),
    jobType: optionalString(activity.jobType, 'jobType'),
    properties: decodeRecord(activity.properties, 'properties'),
    headers: decodeRecord(activity.headers, 'headers'),
    inputs: decodeMappings(activity.inputs, 'inputs'),
    outputs: decodeMappings(activity.outputs, 'outputs'),
    documentation: optionalString(activity.documentation, 'documentation'),
    outgoing: Object.freeze(decodeStrings(activity.outgoing, 'outgoing')),
    attachedToRef: optionalString(activity.attachedToRef, 'attachedToRef'),
    calledElement: optionalString(activity.calledElement, 'calledElement'),
    errorCode: optionalString(activity.errorCode, 'errorCode'),
  });
}

function requiredString(value: unknown, field: string): string {
  if (typeof value !== 'string') {
    throw new ModelFormatError(`${field} is not a string`);
  }
  return value;
}

/** JSON drops undefined object fields, so a missing field or null reads as undefined. */
function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  return requiredString(value, field);
}

function decodeStrings(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new ModelFormatError(`${field} is not a list of strings`);
  }
  return value;
}

/** Copies entries into a record without prototype, as the extractor builds them. */
function decodeRecord(value: unknown, field: string): Readonly<Record<string, string>> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ModelFormatError(`${field} is not an object`);
  }
  return frozenRecord(Object.entries(value).map(([key, entry]) => [key, requiredString(entry, `${field}.${key}`)] as const));
}

function decodeMappings(value: unknown, field: string): readonly IoMapping[] {
  if (!Array.isArray(value)) {
    throw new ModelFormatError(`${field} is not a list`);
  }
  return Object.freeze(
    value.map((mapping: IoMapping) =>
      Object.freeze({ name: requiredString(mapping?.name, `${field} name`), value: optionalString(mapping?.value, `${field} value`) }),
    ),
  );
}

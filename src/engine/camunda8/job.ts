import { EngineRequestError } from '../../errors.ts';
import type { FetchedTask, Task, Variables } from '../types.ts';

/**
 * An activated job as `POST /v2/jobs/activation` returns it (Camunda 8.8),
 * after lossless parsing: keys are strings, and a broker that still sends
 * them as numbers yields numbers or bigints.
 */
export interface ActivatedJobJson {
  jobKey: unknown;
  type: string;
  processDefinitionId: string;
  processDefinitionKey: unknown;
  processInstanceKey: unknown;
  elementId: string;
  elementInstanceKey: unknown;
  worker: string;
  retries: number;
  /** Epoch milliseconds. */
  deadline: unknown;
  tenantId?: string;
  variables?: Variables;
}

/**
 * A job as the SDK's gRPC job stream hands it out: the gateway's
 * `ActivatedJob` message, with int64 fields as strings and the variables
 * already parsed.
 */
export interface StreamedJob {
  key: string;
  type: string;
  bpmnProcessId: string;
  processDefinitionKey: string;
  processInstanceKey: string;
  elementId: string;
  elementInstanceKey: string;
  worker: string;
  retries: number;
  deadline: string;
  tenantId?: string;
  variables: Variables;
}

/**
 * Converts an activated job to the engine-neutral task. Camunda 8 names map
 * as: the job key is the task id, the job type its topic, the element its
 * activity, and the process definition key (unique per deployed version) its
 * `processDefinitionId`, by which the definition's XML is fetched and
 * cached. The BPMN process id goes to `processDefinitionKey`. Every int64 key
 * stays a decimal string.
 */
export function fromActivatedJob(job: ActivatedJobJson): FetchedTask {
  const task: Task = {
    id: keyString(job.jobKey, 'jobKey'),
    topic: job.type,
    activityId: job.elementId,
    activityInstanceId: keyString(job.elementInstanceKey, 'elementInstanceKey'),
    processInstanceId: keyString(job.processInstanceKey, 'processInstanceKey'),
    processDefinitionId: keyString(job.processDefinitionKey, 'processDefinitionKey'),
    processDefinitionKey: job.processDefinitionId,
    businessKey: undefined,
    tenantId: job.tenantId,
    retries: job.retries,
    priority: 0,
    workerId: job.worker,
    lockExpiresAt: epochMilliseconds(job.deadline),
  };
  return { task, variables: job.variables ?? {} };
}

/** Converts a job from the gRPC job stream to the engine-neutral task, as {@link fromActivatedJob} does. */
export function fromStreamedJob(job: StreamedJob): FetchedTask {
  return fromActivatedJob({
    jobKey: job.key,
    type: job.type,
    processDefinitionId: job.bpmnProcessId,
    processDefinitionKey: job.processDefinitionKey,
    processInstanceKey: job.processInstanceKey,
    elementId: job.elementId,
    elementInstanceKey: job.elementInstanceKey,
    worker: job.worker,
    retries: job.retries,
    deadline: job.deadline,
    tenantId: job.tenantId,
    variables: { ...job.variables },
  });
}

/** Returns an int64 key as a decimal string; rejects a value that is not an integer. */
function keyString(value: unknown, field: string): string {
  if (typeof value === 'string' && /^-?\d+$/.test(value)) {
    return value;
  }
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value))) {
    return value.toString();
  }
  throw new EngineRequestError(`the engine returned a job whose ${field} is not an integer key: ${String(value)}`);
}

function epochMilliseconds(value: unknown): number | undefined {
  const number = typeof value === 'string' || typeof value === 'bigint' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) && number > 0 ? number : undefined;
}

/**
 * The checks of a chaos run, as pure functions over what the run recorded
 * (the service's deliveries, when each daemon process ran, when the engine
 * was down) and what the engine's history holds afterwards.
 */
import type { Delivery } from './service.ts';

/** One daemon process of the run, identified by the worker id it was started with. */
export interface DaemonGeneration {
  workerId: string;
  startedAt: number;
  /** When the run sent it SIGKILL; undefined for the last one, which is stopped with SIGTERM. */
  killedAt: number | undefined;
}

/** A time span in which the engine did not answer, from its stop to its answering again. */
export interface Outage {
  from: number;
  to: number;
}

/** The fields of `GET /history/external-task-log` entries that the checks read. */
export interface ExternalTaskLogEntry {
  externalTaskId: string;
  processInstanceId: string;
  creationLog: boolean;
  successLog: boolean;
  failureLog: boolean;
}

/** The fields of `GET /history/process-instance` entries that the checks read. */
export interface HistoricProcessInstance {
  id: string;
  state: string;
  endTime: string | null;
}

export interface DeliveryFindings {
  /** Later deliveries of an attempt that a daemon had already been given, each explained by a lost lock. */
  redeliveriesAfterLockExpiry: number;
  /** Later deliveries of an attempt while its earlier holder kept a valid lock: alive, with the engine up. */
  duplicatesWithoutLockExpiry: number;
  /** Deliveries with a new idempotency key right after a 2xx answer: a failure was reported for a task its service had handled. */
  duplicatesWithNewKey: number;
  /** Repeats of a transient failure inside the same daemon process, with the same key. */
  inDaemonRetries: number;
  /** Example task ids of the two unexpected kinds, for reading the logs. */
  examples: string[];
}

const TRANSIENT = new Set([429, 502, 503, 504]);
const MAX_EXAMPLES = 10;

/**
 * Classifies every repeat delivery of a task. A repeat is an in-daemon retry
 * when the same process sends the same key after a transient answer or
 * none. Any other repeat with the same key is a redelivery, which the engine
 * allows only after the earlier holder lost its lock: it counts as expected
 * when that holder was killed, or the engine was down, between the two
 * deliveries, and as a duplicate without lock expiry otherwise. A new key
 * right after a 2xx answer means a failure was reported for a task its
 * service had handled, and counts on its own. A new key after a redelivery
 * that failed is the engine's retry: the 2xx before it never reached the
 * engine, because its daemon was killed or the engine was down.
 */
export function classifyDeliveries(
  deliveries: readonly Delivery[],
  generations: readonly DaemonGeneration[],
  outages: readonly Outage[],
): DeliveryFindings {
  const killedAt = new Map(generations.map((generation) => [generation.workerId, generation.killedAt]));
  const findings: DeliveryFindings = {
    redeliveriesAfterLockExpiry: 0,
    duplicatesWithoutLockExpiry: 0,
    duplicatesWithNewKey: 0,
    inDaemonRetries: 0,
    examples: [],
  };

  for (const [taskId, list] of groupByTask(deliveries)) {
    for (let index = 1; index < list.length; index += 1) {
      const previous = list[index - 1] as Delivery;
      const current = list[index] as Delivery;

      if (current.idempotencyKey !== previous.idempotencyKey) {
        if (isSuccess(previous.status)) {
          findings.duplicatesWithNewKey += 1;
          addExample(findings, taskId);
        }
        continue;
      }

      const sameProcess = current.workerId === previous.workerId;
      if (sameProcess && !isSuccess(previous.status) && (previous.status === undefined || TRANSIENT.has(previous.status))) {
        findings.inDaemonRetries += 1;
        continue;
      }

      if (lostLock(previous, current, killedAt.get(previous.workerId), outages)) {
        findings.redeliveriesAfterLockExpiry += 1;
      } else {
        findings.duplicatesWithoutLockExpiry += 1;
        addExample(findings, taskId);
      }
    }
  }
  return findings;
}

/** Whether the holder of `previous` lost its lock before `current` arrived: it was killed, or the engine went down, in between. */
function lostLock(previous: Delivery, current: Delivery, killedAt: number | undefined, outages: readonly Outage[]): boolean {
  if (killedAt !== undefined && killedAt >= previous.receivedAt && killedAt <= current.receivedAt) {
    return true;
  }
  return outages.some((outage) => outage.from <= current.receivedAt && outage.to >= previous.receivedAt);
}

function groupByTask(deliveries: readonly Delivery[]): Map<string, Delivery[]> {
  const byTask = new Map<string, Delivery[]>();
  for (const delivery of deliveries) {
    const list = byTask.get(delivery.taskId) ?? [];
    list.push(delivery);
    byTask.set(delivery.taskId, list);
  }
  for (const list of byTask.values()) {
    list.sort((left, right) => left.receivedAt - right.receivedAt);
  }
  return byTask;
}

function isSuccess(status: number | undefined): boolean {
  return status !== undefined && status >= 200 && status < 300;
}

function addExample(findings: DeliveryFindings, taskId: string): void {
  if (findings.examples.length < MAX_EXAMPLES && !findings.examples.includes(taskId)) {
    findings.examples.push(taskId);
  }
}

export interface TaskFindings {
  /** External tasks the engine created. */
  tasksCreated: number;
  /** Created tasks with no success entry in the log, plus tasks completed without a 2xx answer of the service. */
  tasksLost: number;
  /** Example task ids of lost tasks. */
  examples: string[];
}

/**
 * Checks the external task log: every task the engine created must have a
 * success entry, and every completed task must have had a 2xx answer from
 * the service (the daemon completes a task only on one).
 */
export function checkTasks(log: readonly ExternalTaskLogEntry[], deliveries: readonly Delivery[]): TaskFindings {
  const created = new Set<string>();
  const completed = new Set<string>();
  for (const entry of log) {
    if (entry.creationLog) {
      created.add(entry.externalTaskId);
    }
    if (entry.successLog) {
      completed.add(entry.externalTaskId);
    }
  }
  const answered = new Set(deliveries.filter((delivery) => isSuccess(delivery.status)).map((delivery) => delivery.taskId));

  const lost = new Set<string>();
  for (const id of created) {
    if (!completed.has(id)) {
      lost.add(id);
    }
  }
  for (const id of completed) {
    if (!answered.has(id)) {
      lost.add(id);
    }
  }
  return { tasksCreated: created.size, tasksLost: lost.size, examples: [...lost].slice(0, MAX_EXAMPLES) };
}

/** Counts the instances that ended, and those of them that completed normally. */
export function countEnded(instances: readonly HistoricProcessInstance[]): { ended: number; completed: number } {
  let ended = 0;
  let completed = 0;
  for (const instance of instances) {
    if (instance.endTime !== null) {
      ended += 1;
    }
    if (instance.state === 'COMPLETED') {
      completed += 1;
    }
  }
  return { ended, completed };
}

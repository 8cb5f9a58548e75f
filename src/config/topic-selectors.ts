/**
 * Which tasks of its topic a topic entry serves: its tenants and process
 * definition keys. Several entries may share a topic name when they serve
 * disjoint sets of tasks, so that two tenants with the same process can get
 * separate routes. Each task then belongs to exactly one entry.
 */
import type { TopicOptions } from './types.ts';

type Selectors = Pick<TopicOptions, 'tenantIds' | 'withoutTenantId' | 'processDefinitionKeys'>;

/** The task fields an entry is matched on. */
export interface TaskSelection {
  tenantId: string | undefined;
  processDefinitionKey: string | undefined;
}

/** Returns whether an entry serves a task of its topic. */
export function selects(topic: Selectors, task: TaskSelection): boolean {
  if (topic.withoutTenantId && task.tenantId !== undefined) {
    return false;
  }
  if (topic.tenantIds !== undefined && (task.tenantId === undefined || !topic.tenantIds.includes(task.tenantId))) {
    return false;
  }
  return topic.processDefinitionKeys === undefined
    || (task.processDefinitionKey !== undefined && topic.processDefinitionKeys.includes(task.processDefinitionKey));
}

/**
 * Returns whether two entries of one topic name could both serve a task,
 * that is whether both their tenant sets and their process definition key
 * sets overlap. An entry without a tenant or key filter overlaps every other
 * in that respect.
 */
export function selectorsOverlap(first: Selectors, second: Selectors): boolean {
  return tenantsOverlap(first, second) && overlaps(first.processDefinitionKeys, second.processDefinitionKeys);
}

function tenantsOverlap(first: Selectors, second: Selectors): boolean {
  if (first.withoutTenantId || second.withoutTenantId) {
    // "No tenant" overlaps another "no tenant" and an entry without a tenant filter, never a tenant list.
    return (first.withoutTenantId || first.tenantIds === undefined) && (second.withoutTenantId || second.tenantIds === undefined);
  }
  return overlaps(first.tenantIds, second.tenantIds);
}

/** Returns whether two filters can both match a value; undefined matches everything. */
function overlaps(first: readonly string[] | undefined, second: readonly string[] | undefined): boolean {
  if (first === undefined || second === undefined) {
    return true;
  }
  return first.some((value) => second.includes(value));
}

/** Describes an entry's selection for messages, e.g. `tenants a, b and keys order`. */
export function describeSelection(topic: Selectors): string {
  const tenants = topic.withoutTenantId ? 'no tenant' : (topic.tenantIds === undefined ? 'any tenant' : `tenants ${topic.tenantIds.join(', ')}`);
  const keys = topic.processDefinitionKeys === undefined ? 'any process definition key' : `process definition keys ${topic.processDefinitionKeys.join(', ')}`;
  return `${tenants} and ${keys}`;
}

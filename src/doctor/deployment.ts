/**
 * The deployment checks of `doctor`: whether each configured topic has a
 * deployed activity, and whether every external-task activity of the
 * processes the daemon serves has a route. They read the latest version of
 * every deployed process definition.
 */
import type { RouterConfig, TopicOptions } from '../config/types.ts';
import { parseDefinition } from '../definitions/bpmn-extractor.ts';
import type { Activity } from '../definitions/model.ts';
import { Camunda7Rest, type DeployedDefinition } from '../engine/camunda7/rest.ts';
import { resolveRoute } from '../routing/route.ts';
import type { CheckResult } from './checks.ts';

/** Maximum definitions read; past it the check reports how many it left out. */
const MAX_DEFINITIONS = 2_000;

const PAGE_SIZE = 200;

/** Definition XML requests in flight at once. */
const XML_CONCURRENCY = 4;

/** Unrouted activities listed in the line; the rest are counted. */
const MAX_LISTED = 10;

/** An external-task activity of a deployed definition. */
interface DeployedActivity {
  definition: DeployedDefinition;
  activity: Activity;
  topic: string;
}

interface Deployment {
  /** Definitions on the engine, of which `definitions` were read. */
  total: number;
  definitions: DeployedDefinition[];
  activities: DeployedActivity[];
  /** Definitions whose XML could not be read or parsed, with the reason. */
  unreadable: string[];
}

/** Runs both deployment checks; if the engine cannot be read, both fail with the reason. */
export async function checkDeployment(config: RouterConfig): Promise<CheckResult[]> {
  let deployment: Deployment;
  const rest = new Camunda7Rest(config.engine);
  try {
    deployment = await readDeployment(rest, config);
  } catch (error) {
    const detail = `could not list the deployed definitions: ${error instanceof Error ? error.message : String(error)}`;
    return [{ name: 'topics', verdict: 'fail', detail }, { name: 'routes', verdict: 'fail', detail }];
  } finally {
    await rest.close();
  }

  return [checkTopics(config, deployment), checkRoutes(config, deployment)];
}

async function readDeployment(rest: Camunda7Rest, config: RouterConfig): Promise<Deployment> {
  const definitions: DeployedDefinition[] = [];
  let total = 0;
  for (let first = 0; first < MAX_DEFINITIONS; first += PAGE_SIZE) {
    const page = await rest.latestDefinitions(first, Math.min(PAGE_SIZE, MAX_DEFINITIONS - first));
    definitions.push(...page);
    total = first + page.length;
    if (page.length < PAGE_SIZE) {
      break;
    }
  }
  if (definitions.length === MAX_DEFINITIONS) {
    // The engine may have more, so one more call shows whether the listing was cut short.
    total += (await rest.latestDefinitions(MAX_DEFINITIONS, 1)).length;
  }

  const activities: DeployedActivity[] = [];
  const unreadable: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < definitions.length) {
      const definition = definitions[next] as DeployedDefinition;
      next += 1;
      try {
        const model = parseDefinition(await rest.definitionXml(definition.id), config.definitions);
        for (const activity of model.activities.values()) {
          if (activity.topic !== undefined) {
            activities.push({ definition, activity, topic: activity.topic });
          }
        }
      } catch (error) {
        unreadable.push(`${definition.key} v${definition.version}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: XML_CONCURRENCY }, worker));
  return { total, definitions, activities, unreadable };
}

/** Checks that every configured topic has a deployed activity; a topic without one is a warning. */
function checkTopics(config: RouterConfig, deployment: Deployment): CheckResult {
  const deployedTopics = new Set(deployment.activities.map((entry) => entry.topic));
  const idle = config.topics.filter((topic) => !deployedTopics.has(topic.topic)).map((topic) => topic.topic);
  const scope = definitionScope(deployment);

  if (idle.length > 0) {
    return {
      name: 'topics',
      verdict: 'warn',
      detail: `${idle.length} of ${config.topics.length} topics have no deployed activity (${idle.join(', ')}) in ${scope}; check their spelling`,
    };
  }
  return { name: 'topics', verdict: 'ok', detail: `each of ${config.topics.length} topics has a deployed activity in ${scope}` };
}

/**
 * Checks that every external-task activity of a served process has a topic
 * entry and a route that resolves, since its tasks would otherwise wait
 * forever or fail. A served process has an activity on a configured topic.
 */
function checkRoutes(config: RouterConfig, deployment: Deployment): CheckResult {
  const topics = new Map(config.topics.map((topic) => [topic.topic, topic]));
  const served = new Set(deployment.activities.filter((entry) => topics.has(entry.topic)).map((entry) => entry.definition.id));
  const unrouted: string[] = [];
  let routed = 0;

  for (const entry of deployment.activities) {
    if (!served.has(entry.definition.id)) {
      continue;
    }
    const problem = routeProblem(config, topics.get(entry.topic), entry);
    if (problem === undefined) {
      routed += 1;
    } else {
      unrouted.push(`${entry.definition.key}/${entry.activity.id} (${problem})`);
    }
  }

  const unreadable = deployment.unreadable.length === 0 ? '' : `; ${deployment.unreadable.length} definitions unreadable: ${deployment.unreadable.slice(0, 3).join('; ')}`;
  if (unrouted.length > 0) {
    const listed = unrouted.slice(0, MAX_LISTED).join(', ');
    const more = unrouted.length > MAX_LISTED ? ` and ${unrouted.length - MAX_LISTED} more` : '';
    return { name: 'routes', verdict: 'fail', detail: `${unrouted.length} external-task activities of served processes have no route: ${listed}${more}${unreadable}` };
  }
  return {
    name: 'routes',
    verdict: deployment.unreadable.length === 0 ? 'ok' : 'warn',
    detail: `${routed} external-task activities in ${served.size} served process definitions, each with a route${unreadable}`,
  };
}

function routeProblem(config: RouterConfig, topic: TopicOptions | undefined, entry: DeployedActivity): string | undefined {
  if (topic === undefined) {
    return `topic ${entry.topic} has no entry under topics`;
  }
  try {
    resolveRoute(config, topic, entry.activity);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function definitionScope(deployment: Deployment): string {
  const { total, definitions } = deployment;
  return total > definitions.length
    ? `the first ${definitions.length} of ${total} deployed process definitions`
    : `${definitions.length} deployed process definitions`;
}

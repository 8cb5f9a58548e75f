/**
 * Runs a real daemon inside a test, against a real engine, with its JSON log
 * in a file under .tmp/test-logs/ so a failing test can be read afterwards.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { request } from 'undici';

import { parseConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { createLogger } from '../../src/telemetry/logger.ts';

const logDir = resolve('.tmp/test-logs');

/** Starts a daemon from configuration text; the caller stops it. */
export function startDaemon(name: string, configText: string, env: NodeJS.ProcessEnv = {}): Daemon {
  mkdirSync(logDir, { recursive: true });
  const config = parseConfig(configText, { env, baseDir: resolve('.') });
  const logger = createLogger({
    level: 'debug',
    destination: createWriteStream(join(logDir, `${name}.log`), { flags: 'a' }),
  });
  const daemon = new Daemon({ config, logger });
  daemon.start();
  return daemon;
}

/** GETs an engine REST path and returns the parsed JSON. */
export async function engineGet<T>(baseUrl: string, path: string): Promise<T> {
  const response = await request(`${baseUrl}${path}`, { headers: { accept: 'application/json' } });
  const text = await response.body.text();
  if (response.statusCode !== 200) {
    throw new Error(`GET ${path} returned ${response.statusCode}: ${text}`);
  }
  return JSON.parse(text) as T;
}

/** An entry of the engine's external task log (`GET /history/external-task-log`). */
export interface ExternalTaskLogEntry {
  externalTaskId: string;
  activityId: string;
  processInstanceId: string;
  topicName: string;
  retries: number | null;
  errorMessage: string | null;
  creationLog: boolean;
  failureLog: boolean;
  successLog: boolean;
  deletionLog: boolean;
}

/** Lists the external task log of a process definition key. */
export function externalTaskLog(baseUrl: string, processDefinitionKey: string): Promise<ExternalTaskLogEntry[]> {
  return engineGet(baseUrl, `/history/external-task-log?processDefinitionKey=${encodeURIComponent(processDefinitionKey)}&sortBy=timestamp&sortOrder=asc&maxResults=100000`);
}

/**
 * Engine access for test files: the REST URL of the shared engine that
 * global-setup.ts started (or that OPERATON_URL names), and private engines
 * for tests that need their own, e.g. to restart one or to turn on basic auth.
 */

import { randomBytes } from 'node:crypto';
import { startOperaton, type OperatonOptions, type OperatonProcess } from '../../src/demo/operaton.ts';

/** Returns the REST base URL of the shared engine, `http://127.0.0.1:PORT/engine-rest`. */
export function engineUrl(): string {
  const url = process.env.OPERATON_URL;
  if (url === undefined || url === '') {
    throw new Error('OPERATON_URL is not set; run the tests through jest.config.js, whose global setup starts the engine');
  }
  return url;
}

/**
 * Returns a process key no other test uses, such as `Order_3f9a1c2e`, so tests
 * sharing one engine never see each other's instances or external tasks.
 */
export function uniqueProcessKey(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

const privateEngines = new Set<OperatonProcess>();

/** Starts an engine for one test file; {@link stopPrivateEngines} in `afterAll` stops it. */
export async function startPrivateEngine(options: OperatonOptions = {}): Promise<OperatonProcess> {
  const engine = await startOperaton(options);
  privateEngines.add(engine);
  return engine;
}

/** Stops every engine that {@link startPrivateEngine} started in this worker. */
export async function stopPrivateEngines(): Promise<void> {
  const engines = [...privateEngines];
  privateEngines.clear();
  await Promise.all(engines.map((engine) => engine.stop()));
}

/** The handle of the shared engine, which lives in Jest's parent process between setup and teardown. */
interface SharedEngineHolder {
  engine: OperatonProcess | undefined;
}

/** Returns the holder of the shared engine on globalThis, which global setup and teardown share. */
export function sharedEngineHolder(): SharedEngineHolder {
  const scope = globalThis as typeof globalThis & { __operatonSharedEngine?: SharedEngineHolder };
  scope.__operatonSharedEngine ??= { engine: undefined };
  return scope.__operatonSharedEngine;
}

/**
 * Jest global setup: starts one Operaton engine (in-memory H2) for the whole
 * test run, unless OPERATON_URL already names one, and passes its REST URL to
 * the test workers through process.env.OPERATON_URL. Jest runs this in its
 * parent process, before it forks the workers, so they inherit the variable.
 */

import { getEngineVersion } from '../../src/demo/engine-rest.ts';
import { startOperaton } from '../../src/demo/operaton.ts';
import { sharedEngineHolder } from './engine.ts';

export default async function globalSetup(): Promise<void> {
  const configuredUrl = process.env.OPERATON_URL;
  if (configuredUrl !== undefined && configuredUrl !== '') {
    try {
      await getEngineVersion(configuredUrl, { timeoutMs: 10_000 });
    } catch (error) {
      throw new Error(
        `OPERATON_URL=${configuredUrl} does not respond to GET /version; start that engine or unset OPERATON_URL so the tests start the bundled one`,
        { cause: error },
      );
    }
    return;
  }

  const engine = await startOperaton({ database: 'mem' });
  sharedEngineHolder().engine = engine;
  process.env.OPERATON_URL = engine.restUrl;
}

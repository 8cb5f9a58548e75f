/** Jest global teardown: stops the engine that global-setup.ts started, if it started one. */

import { sharedEngineHolder } from './engine.ts';

export default async function globalTeardown(): Promise<void> {
  const holder = sharedEngineHolder();
  const engine = holder.engine;
  if (engine === undefined) {
    return;
  }

  holder.engine = undefined;
  await engine.stop();
}

/**
 * The preloader's decisions, with a listing fake in place of the engine
 * (a narrow unit test: the real engine's listing is in preload.test.ts).
 */
import { PassThrough } from 'node:stream';

import type { DefinitionVersion } from '../../src/engine/types.ts';
import { DefinitionPreloader } from '../../src/prediction/preloader.ts';
import { createLogger } from '../../src/telemetry/logger.ts';

/** A listing fake: the latest version per key, which a test changes, and a number of listings that fail first. */
class ListingFake {
  readonly latest = new Map<string, string>();
  failures = 0;
  calls = 0;
  /** The keys of every listing, in order. */
  readonly requestedKeys: string[][] = [];

  list = async (keys: readonly string[]): Promise<DefinitionVersion[]> => {
    this.calls += 1;
    this.requestedKeys.push([...keys]);
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('engine unreachable');
    }
    return keys.flatMap((processKey) => {
      const definitionId = this.latest.get(processKey);
      return definitionId === undefined ? [] : [{ processKey, definitionId, version: Number(definitionId.split(':')[1]), tenantId: undefined }];
    });
  };
}

function preloaderWith(listing: ListingFake, options: { processKeys?: string[]; maxKeys?: number; failPreloads?: number } = {}) {
  const preloaded: string[] = [];
  const lines: string[] = [];
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
  let failPreloads = options.failPreloads ?? 0;
  const preloader = new DefinitionPreloader({
    listLatest: listing.list,
    preload: async (version) => {
      if (failPreloads > 0) {
        failPreloads -= 1;
        throw new Error(`definition ${version.definitionId} could not be loaded`);
      }
      preloaded.push(version.definitionId);
    },
    intervalMs: 20,
    processKeys: options.processKeys ?? [],
    maxKeys: options.maxKeys ?? 100,
    logger: createLogger({ level: 'info', destination }),
  });
  return { preloader, preloaded, messages: () => lines.map((line) => (JSON.parse(line) as { msg: string }).msg) };
}

describe('DefinitionPreloader', () => {
  test('configured key preloaded at first poll', async () => {
    const listing = new ListingFake();
    listing.latest.set('order', 'order:3:c');
    const { preloader, preloaded } = preloaderWith(listing, { processKeys: ['order'] });

    await preloader.pollOnce();
    await preloader.pollOnce();

    expect(preloaded).toEqual(['order:3:c']);
  });

  test('key seen on a task preloads only newer versions', async () => {
    const listing = new ListingFake();
    listing.latest.set('order', 'order:1:a');
    const { preloader, preloaded } = preloaderWith(listing);

    preloader.watch('order', 'order:1:a');
    await preloader.pollOnce();
    listing.latest.set('order', 'order:2:b');
    preloader.watch('order', 'order:1:a');
    await preloader.pollOnce();

    expect(preloaded).toEqual(['order:2:b']);
    expect(preloader.preloaded).toBe(1);
  });

  test('failed preload retried at the next poll', async () => {
    const listing = new ListingFake();
    listing.latest.set('order', 'order:2:b');
    const { preloader, preloaded } = preloaderWith(listing, { processKeys: ['order'], failPreloads: 1 });

    await preloader.pollOnce();
    await preloader.pollOnce();

    expect(preloaded).toEqual(['order:2:b']);
  });

  test('listing outage logged once and its end once', async () => {
    const listing = new ListingFake();
    listing.latest.set('order', 'order:1:a');
    listing.failures = 3;
    const { preloader, preloaded, messages } = preloaderWith(listing, { processKeys: ['order'] });

    for (let poll = 0; poll < 4; poll += 1) {
      await preloader.pollOnce();
    }

    expect(preloaded).toEqual(['order:1:a']);
    expect(messages()).toEqual([
      'listing the latest definitions failed; new versions are not preloaded until it works again',
      'listing the latest definitions works again',
    ]);
  });

  test('keys beyond the bound are not watched', async () => {
    const listing = new ListingFake();
    const { preloader } = preloaderWith(listing, { maxKeys: 2 });

    preloader.watch('a', 'a:1:x');
    preloader.watch('b', 'b:1:x');
    preloader.watch('c', 'c:1:x');
    await preloader.pollOnce();

    expect(listing.requestedKeys).toEqual([['a', 'b']]);
  });

  test('polls on its own until stopped', async () => {
    const listing = new ListingFake();
    listing.latest.set('order', 'order:1:a');
    const { preloader, preloaded } = preloaderWith(listing, { processKeys: ['order'] });

    preloader.start();
    await new Promise((resolve) => setTimeout(resolve, 150));
    await preloader.stop();
    const calls = listing.calls;
    await new Promise((resolve) => setTimeout(resolve, 60));

    expect(preloaded).toEqual(['order:1:a']);
    expect(calls).toBeGreaterThan(2);
    expect(listing.calls).toBe(calls);
    expect(preloader.state).toBe('stopped');
    expect(() => preloader.start()).toThrow(/called in state stopped/);
    await expect(preloader.stop()).resolves.toBeUndefined();
  });
});

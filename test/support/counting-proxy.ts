import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback HTTP proxy in front of the engine that counts the definition XML requests, the fetch-and-lock requests and their response bytes. */
export interface CountingProxy {
  /** The engine's REST base URL through the proxy. */
  url: string;
  /** `GET .../process-definition/{id}/xml` requests seen. */
  readonly xmlFetches: number;
  /** Arrival times (`Date.now()`) of `POST .../external-task/fetchAndLock` requests, also those the engine never answered. */
  readonly fetchAndLockTimes: readonly number[];
  /** Bytes of the response bodies of `POST .../external-task/fetchAndLock`. */
  readonly fetchResponseBytes: number;
  close(): Promise<void>;
}

const XML_PATH = /\/process-definition\/[^/]+\/xml(\?|$)/;
const FETCH_AND_LOCK_PATH = /\/external-task\/fetchAndLock(\?|$)/;

/** Starts a proxy on 127.0.0.1, port 0, that forwards every request to `engineRestUrl`'s host. */
export async function startCountingProxy(engineRestUrl: string): Promise<CountingProxy> {
  const target = new URL(engineRestUrl);
  let xmlFetches = 0;
  const fetchAndLockTimes: number[] = [];
  let fetchResponseBytes = 0;

  const server: Server = createServer((incoming, outgoing) => {
    if (incoming.method === 'GET' && XML_PATH.test(incoming.url ?? '')) {
      xmlFetches += 1;
    }
    const isFetch = incoming.method === 'POST' && FETCH_AND_LOCK_PATH.test(incoming.url ?? '');
    if (isFetch) {
      fetchAndLockTimes.push(Date.now());
    }
    const forwarded = request(
      { host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: target.host } },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        if (isFetch) {
          response.on('data', (chunk: Buffer) => {
            fetchResponseBytes += chunk.length;
          });
        }
        response.pipe(outgoing);
      },
    );
    forwarded.on('error', (error) => {
      outgoing.destroy(error);
    });
    incoming.pipe(forwarded);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${target.pathname.replace(/\/+$/, '')}`,
    get xmlFetches() {
      return xmlFetches;
    },
    fetchAndLockTimes,
    get fetchResponseBytes() {
      return fetchResponseBytes;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

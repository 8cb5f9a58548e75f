import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback HTTP proxy in front of the engine that counts the definition XML requests passing through. */
export interface CountingProxy {
  /** The engine's REST base URL through the proxy. */
  url: string;
  /** `GET .../process-definition/{id}/xml` requests seen. */
  readonly xmlFetches: number;
  close(): Promise<void>;
}

const XML_PATH = /\/process-definition\/[^/]+\/xml(\?|$)/;

/** Starts a proxy on 127.0.0.1, port 0, that forwards every request to `engineRestUrl`'s host. */
export async function startCountingProxy(engineRestUrl: string): Promise<CountingProxy> {
  const target = new URL(engineRestUrl);
  let xmlFetches = 0;

  const server: Server = createServer((incoming, outgoing) => {
    if (incoming.method === 'GET' && XML_PATH.test(incoming.url ?? '')) {
      xmlFetches += 1;
    }
    const forwarded = request(
      { host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: target.host } },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
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
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * The downstream service of the dispatch benchmark, run as a child process so
 * its CPU time is not counted against the client under test. It listens on
 * 127.0.0.1 port 0 and sends its port to the parent. It responds to every POST
 * after a fixed delay (argv[2], milliseconds): `/batch` with one 200 result
 * per item of a batch request, any other path with `{ variables }`. Each
 * response carries `serviceMicros`, the time from the request's arrival to the
 * response, so the client can subtract the service's own time.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const delayMs = Number(process.argv[2] ?? '5');

const server = createServer((request, response) => {
  const arrived = performance.now();
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    setTimeout(() => {
      const serviceMicros = Math.round((performance.now() - arrived) * 1000);
      let body: string;
      if (request.url === '/batch') {
        const { items } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { items: { id: string }[] };
        body = JSON.stringify({ results: items.map((item) => ({ id: item.id, status: 200, body: { variables: { serviceMicros } } })) });
      } else {
        body = JSON.stringify({ variables: { serviceMicros } });
      }
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      response.end(body);
    }, delayMs);
  });
});
server.keepAliveTimeout = 60_000;

server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('disconnect', () => {
  server.closeAllConnections();
  server.close();
  process.exit(0);
});

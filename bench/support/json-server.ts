/**
 * A small JSON service for benchmarks, run as a child process so its CPU time
 * is not counted against the client under test. It listens on 127.0.0.1 port
 * 0, sends its port to the parent, and answers every POST after an optional
 * fixed delay (argv[2], milliseconds).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const delayMs = Number(process.argv[2] ?? '0');
const body = JSON.stringify({ variables: { ok: true, reservationId: 'r-1' } });

const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    const send = () => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      response.end(body);
    };
    if (delayMs > 0) {
      setTimeout(send, delayMs);
    } else {
      send();
    }
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

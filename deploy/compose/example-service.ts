/**
 * Runs the example order service (src/demo/example-service.ts) as a
 * container process for deploy/docker-compose.yaml, until SIGTERM or SIGINT.
 * HOST and PORT set the listen address; a container needs HOST=0.0.0.0.
 */
import { startExampleService } from '../../src/demo/example-service.ts';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? '3000');
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`example-service: invalid PORT ${JSON.stringify(process.env.PORT)}; use an integer from 0 to 65535\n`);
  process.exit(2);
}

const service = await startExampleService({ host, port });
process.stdout.write(`${JSON.stringify({ msg: 'example service listening', url: service.url })}\n`);

const stop = (signal: NodeJS.Signals) => {
  process.stdout.write(`${JSON.stringify({ msg: 'example service stopping', signal })}\n`);
  void service.stop().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

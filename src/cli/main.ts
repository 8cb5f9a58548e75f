#!/usr/bin/env node
import { parseArgs } from 'node:util';

import { loadConfigFile } from '../config/load.ts';
import { prepareRuntime, type DaemonRuntime } from '../daemon/runtime.ts';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import { createLogger } from '../telemetry/logger.ts';

const USAGE = `Usage: bpmn-task-router <command> [options]

Commands:
  start --config FILE     run the worker daemon until SIGTERM or SIGINT
  validate FILE [--json]  check a configuration file and exit (0 valid, 1 invalid)
  doctor FILE [--json]    check the configuration and that the engine, services, Redis, deployed
                          activities and telemetry endpoints it names are in order (0 none failed, 1 a check failed)
  inspect FILE [--config CONFIG] [--json]
                          print each activity of a BPMN file with its properties, route and next
                          activities (0 valid, 1 invalid); without --config, routes come from properties alone
  demo [--instances N] [--json]
                          start the bundled engine and example service, run N order instances, print a summary

Options:
  -h, --help              show this help
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start(rest);
    case 'validate':
      return validate(rest);
    case 'doctor': {
      const { runDoctorCommand } = await import('./doctor.ts');
      return runDoctorCommand(rest);
    }
    case 'inspect': {
      const { runInspect } = await import('./inspect.ts');
      return runInspect(rest);
    }
    case 'demo': {
      const { runDemoCommand } = await import('../demo/run-demo.ts');
      return runDemoCommand(rest);
    }
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function start(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } } });
  if (values.config === undefined) {
    process.stderr.write('start: missing --config FILE\n');
    return 2;
  }

  const config = loadConfigFile(values.config);
  const logger = createLogger({ level: config.logging.level });
  let runtime: DaemonRuntime;
  try {
    runtime = await prepareRuntime({ config, logger });
  } catch (error) {
    logger.error({ err: error, listen: config.telemetry.server }, 'health and metrics server failed to start; check telemetry.server');
    return 1;
  }

  // The first SIGTERM or SIGINT stops gracefully; a second one forces the stop.
  const stopped = new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) {
        logger.warn({ signal }, 'second signal received; forcing the stop');
        void runtime.forceStop();
        return;
      }
      logger.info({ signal }, 'signal received; stopping');
      runtime.stop().then(() => resolve(0), (error: unknown) => {
        logger.error({ err: error }, 'stop failed');
        resolve(1);
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });

  runtime.start();
  return stopped;
}

/**
 * Checks every file named; `--config FILE` is accepted too, as `start` takes
 * it. With `--json` the verdicts and every problem go to standard output as
 * one JSON document.
 */
function validate(args: string[]): number {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c', multiple: true }, json: { type: 'boolean', default: false } },
  });
  const files = [...(values.config ?? []), ...positionals];
  if (files.length === 0) {
    process.stderr.write('validate: missing FILE\n');
    return 2;
  }

  const verdicts = files.map((file) => {
    try {
      const config = loadConfigFile(file);
      return { file, valid: true, services: config.services.size, topics: config.topics.length, issues: [] as ConfigIssue[] };
    } catch (error) {
      if (!(error instanceof ConfigError)) {
        throw error;
      }
      return { file, valid: false, message: error.message, issues: [...error.issues] };
    }
  });

  if (values.json) {
    process.stdout.write(`${JSON.stringify({ valid: verdicts.every((verdict) => verdict.valid), files: verdicts.map(({ message: _message, ...verdict }) => verdict) }, null, 2)}\n`);
  } else {
    for (const verdict of verdicts) {
      if (verdict.valid) {
        process.stdout.write(`${verdict.file}: valid (${plural(verdict.services ?? 0, 'service')}, ${plural(verdict.topics ?? 0, 'topic')})\n`);
      } else {
        process.stderr.write(`${verdict.message}\n`);
      }
    }
  }
  return verdicts.every((verdict) => verdict.valid) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const code = (error as { code?: unknown }).code;
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 1;
    } else if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      // A mistyped option is a usage error: one line and the help, no stack trace.
      process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    }
  },
);

/** Returns `count` with the noun, in the plural unless the count is 1. */
function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

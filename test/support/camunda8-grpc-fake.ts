/**
 * A protocol fake of the Zeebe gateway's gRPC job streaming on 127.0.0.1,
 * port 0, built from the gateway proto that @camunda8/sdk ships
 * (`dist/proto/zeebe.proto`): `StreamActivatedJobs` and `ActivateJobs`,
 * over the same {@link FakeBroker} as the REST fake. Every request it
 * receives and every message it sends is checked with protobufjs against
 * that proto, and requests also against the gateway's documented argument
 * rules (a type, a timeout of at least 1). A test asserts `violations` is
 * empty.
 */
import { createRequire } from 'node:module';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

import { stringifyJson } from '../../src/lossless-json.ts';
import type { FakeBroker, FakeJob } from './camunda8-fake-broker.ts';

const PROTO_PATH = createRequire(import.meta.url).resolve('@camunda8/sdk/dist/proto/zeebe.proto');

export interface Camunda8GrpcFake {
  /** `grpc://127.0.0.1:PORT`, as `engine.streaming.grpcAddress` takes it. */
  address: string;
  violations: string[];
  /** `StreamActivatedJobs` calls received. */
  readonly streamsOpened: number;
  /** Streams open now. */
  readonly streamsOpen: number;
  close(): Promise<void>;
}

interface StreamRequest {
  type: string;
  worker: string;
  timeout: string;
  fetchVariable: string[];
  tenantIds: string[];
}

interface ActivateRequest extends StreamRequest {
  maxJobsToActivate: number;
  requestTimeout: string;
}

export async function startCamunda8GrpcFake(broker: FakeBroker): Promise<Camunda8GrpcFake> {
  const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const gateway = (grpc.loadPackageDefinition(definition) as unknown as { gateway_protocol: { Gateway: grpc.ServiceClientConstructor } }).gateway_protocol.Gateway;
  const root = protobuf.loadSync(PROTO_PATH);
  const types = {
    streamRequest: root.lookupType('gateway_protocol.StreamActivatedJobsRequest'),
    activateRequest: root.lookupType('gateway_protocol.ActivateJobsRequest'),
    activatedJob: root.lookupType('gateway_protocol.ActivatedJob'),
    activateResponse: root.lookupType('gateway_protocol.ActivateJobsResponse'),
  };
  const violations: string[] = [];
  const open = new Set<grpc.ServerWritableStream<StreamRequest, unknown>>();
  let streamsOpened = 0;

  /**
   * Checks a message against its proto type; records a violation and returns
   * false when it does not fit. The fake carries int64 fields as decimal
   * strings (proto-loader's `longs: String`), so those become Longs first.
   */
  function fits(type: protobuf.Type, message: object, what: string): boolean {
    const problem = type.verify(withLongs(type, message as Record<string, unknown>));
    if (problem !== null) {
      violations.push(`${what} does not match ${type.fullName}: ${problem}`);
      return false;
    }
    return true;
  }

  function checkArguments(request: StreamRequest, call: string): string | undefined {
    if (request.type.trim() === '') {
      return `${call}: type is blank`;
    }
    if (Number(request.timeout) < 1) {
      return `${call}: timeout ${request.timeout} is less than 1`;
    }
    return undefined;
  }

  function message(job: FakeJob): Record<string, unknown> {
    const activated = {
      key: job.key,
      type: job.type,
      processInstanceKey: job.processInstanceKey,
      bpmnProcessId: job.processDefinitionId,
      processDefinitionVersion: job.processDefinitionVersion,
      processDefinitionKey: job.processDefinitionKey,
      elementId: job.elementId,
      elementInstanceKey: job.elementInstanceKey,
      customHeaders: JSON.stringify(job.customHeaders),
      worker: job.worker,
      retries: job.retries,
      deadline: String(job.deadline),
      variables: stringifyJson(job.variables),
      tenantId: job.tenantId,
    };
    fits(types.activatedJob, activated, 'ActivatedJob sent');
    return activated;
  }

  const server = new grpc.Server();
  server.addService(gateway.service, {
    StreamActivatedJobs(call: grpc.ServerWritableStream<StreamRequest, unknown>) {
      streamsOpened += 1;
      const request = call.request;
      const invalid = fits(types.streamRequest, request, 'StreamActivatedJobsRequest received') ? checkArguments(request, 'StreamActivatedJobs') : 'invalid message';
      if (invalid !== undefined) {
        violations.push(invalid);
        call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: invalid });
        return;
      }
      open.add(call);
      const remove = broker.addStream({
        type: request.type,
        worker: request.worker,
        timeout: Number(request.timeout),
        push: (job) => {
          if (call.cancelled || call.destroyed) {
            return false;
          }
          call.write(message(job));
          return true;
        },
      });
      call.on('cancelled', () => {
        remove();
        open.delete(call);
      });
      call.on('close', () => {
        remove();
        open.delete(call);
      });
    },
    ActivateJobs(call: grpc.ServerWritableStream<ActivateRequest, unknown>) {
      const request = call.request;
      const invalid = fits(types.activateRequest, request, 'ActivateJobsRequest received') ? checkArguments(request, 'ActivateJobs') : 'invalid message';
      if (invalid !== undefined) {
        violations.push(invalid);
        call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: invalid });
        return;
      }
      const jobs = broker.activate(request.type, request.worker, Number(request.timeout), request.maxJobsToActivate, request.tenantIds)
        .map((job) => message(job));
      const response = { jobs };
      fits(types.activateResponse, response, 'ActivateJobsResponse sent');
      call.write(response);
      call.end();
    },
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error)));
  });

  return {
    address: `grpc://127.0.0.1:${port}`,
    violations,
    get streamsOpened() {
      return streamsOpened;
    },
    get streamsOpen() {
      return open.size;
    },
    close: () => new Promise<void>((resolve) => {
      for (const call of open) {
        call.end();
      }
      server.tryShutdown(() => resolve());
      setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 1_000).unref();
    }),
  };
}

const INT64_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

/** Returns a copy of a message whose decimal-string int64 fields are Longs, recursing into nested messages. */
function withLongs(type: protobuf.Type, message: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...message };
  for (const field of type.fieldsArray) {
    const value = copy[field.name];
    if (INT64_TYPES.has(field.type) && typeof value === 'string' && /^-?\d+$/.test(value)) {
      copy[field.name] = (protobuf.util.Long as unknown as { fromString(text: string, unsigned: boolean): unknown }).fromString(value, field.type.startsWith('u'));
    } else if (field.resolvedType instanceof protobuf.Type && Array.isArray(value)) {
      copy[field.name] = value.map((item) => withLongs(field.resolvedType as protobuf.Type, item as Record<string, unknown>));
    }
  }
  return copy;
}

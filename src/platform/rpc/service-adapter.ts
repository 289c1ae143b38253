/**
 * One adapter for every service over Connect: `serveApi` serves an API object (the in-process
 * service class) as a protobuf service, `apiClient` is that API over a transport, returning what
 * the class returns and throwing what it throws (src/platform/rpc/errors.ts). Values cross by the
 * conventions of message-codec.ts; calls by these:
 *
 * - the RPC's lowerCamel name is the API method's name (checked by the compiler against the API);
 * - the request message's fields, in declaration order, are the method's positional parameters (an
 *   object parameter, e.g. list filters, is a nested message);
 * - the response message has one field, `result`, or none for a method that returns nothing;
 * - a server-streaming RPC is a method answering `Promise<AsyncIterable<T>>`: the promise settles
 *   with the first chunk (so a refused access check is an error of the call, never a broken
 *   stream), within the call deadline; the rest of the stream has none (a download may rightly
 *   take longer), and a reader that stops early cancels the call.
 *
 * A method that truly needs more (a workflows bulk refusal too large for gRPC trailers) gets a
 * `MethodOverride` kept beside its service rather than a special case here.
 */
import type { DescMethod, DescService } from '@bufbuild/protobuf';
import type { GenService } from '@bufbuild/protobuf/codegenv2';
import { Code, ConnectError, createClient, type HandlerContext, type Transport } from '@connectrpc/connect';
import { fromRpcError } from './errors.ts';
import { apiKey, fieldsOf, fromMessage, toMessage } from './message-codec.ts';
import type { ServiceRegistration } from './registration.ts';

type Plain = Record<string, unknown>;
type AnyFunction = (...args: unknown[]) => Promise<unknown>;

/** A protobuf service with an RPC for every method of `Api` (by the RPCs' lowerCamel names). */
export type ServiceFor<Api> = GenService<{
  [K in keyof Api & string]: Pick<DescMethod, 'input' | 'output' | 'methodKind'>;
}>;

/** Both ends of one method whose answer is not just `{ result }`. */
export interface MethodOverride<Api> {
  /** Server: the response (a plain object of the response message) for the positional arguments. */
  serve(api: Api, args: unknown[]): Promise<Plain>;
  /** Client: the method's value from that response (or the error it throws). */
  answer(response: Plain): unknown;
}

export type Overrides<Api> = Partial<Record<keyof Api, MethodOverride<Api>>>;

/** Serves `api` as the protobuf service `desc`. */
export function serveApi<Api extends object>(
  desc: ServiceFor<Api>,
  api: Api,
  overrides: Overrides<Api> = {},
): ServiceRegistration {
  const service = desc as unknown as DescService;
  const handlers: Record<string, unknown> = {};
  for (const method of service.methods) {
    const name = method.localName;
    // Looked up per call, as a hand-written handler would: the compiler checked that it exists.
    const fn = (...args: unknown[]) => (api as Record<string, AnyFunction>)[name]!(...args);
    const override = overrides[name as keyof Api];
    const respond = (plain: Plain) => toMessage(method.output, plain);
    const args = (req: unknown) => fieldsOf(method.input, req as never);
    handlers[name] =
      method.methodKind === 'server_streaming'
        ? async function* (req: unknown, ctx: HandlerContext) {
            const chunks = (await fn(...args(req))) as AsyncIterable<unknown>;
            for await (const chunk of chunks) {
              if (ctx.signal.aborted) return; // the caller left: read no further
              yield respond({ result: chunk });
            }
          }
        : override
          ? async (req: unknown) => respond(await override.serve(api, args(req)))
          : async (req: unknown) => respond({ result: await fn(...args(req)) });
  }
  return {
    typeName: service.typeName,
    register: (router) => router.service(service, handlers as never),
  };
}

/**
 * `Api` over `transport` to the service `desc` (errors rebuilt as `serviceName`'s).
 * `openTimeoutMs`: how long a server stream may take to open (the call deadline).
 */
export function apiClient<Api extends object>(
  desc: ServiceFor<Api>,
  transport: Transport,
  options: { serviceName: string; openTimeoutMs: number; overrides?: Overrides<Api> },
): Api {
  const service = desc as unknown as DescService;
  const client = createClient(service, transport) as unknown as Record<
    string,
    (req: unknown, opts?: object) => unknown
  >;
  const api: Record<string, AnyFunction> = {};
  for (const method of service.methods) {
    const call = client[method.localName]!;
    const request = (args: unknown[]) =>
      toMessage(method.input, Object.fromEntries(method.input.fields.map((f, i) => [apiKey(f), args[i]])));
    const override = options.overrides?.[method.localName as keyof Api];
    const answer = override
      ? (res: unknown) => override.answer(fromMessage(method.output, res as never))
      : (res: unknown) => resultOf(method, res);
    api[method.localName] =
      method.methodKind === 'server_streaming'
        ? (...args) => openStream(method, call, request(args), options)
        : async (...args) => {
            try {
              return answer(await (call(request(args)) as Promise<unknown>));
            } catch (err) {
              throw fromRpcError(err, options.serviceName);
            }
          };
  }
  return api as Api;
}

/** undefined for a response without a `result` field (a method returning nothing). */
function resultOf(method: DescMethod, res: unknown): unknown {
  return method.output.fields.length === 0 ? undefined : fromMessage(method.output, res as never).result;
}

async function openStream(
  method: DescMethod,
  call: (req: unknown, opts?: object) => unknown,
  req: unknown,
  options: { serviceName: string; openTimeoutMs: number },
): Promise<AsyncIterable<unknown>> {
  const abort = new AbortController();
  const it = (call(req, { signal: abort.signal, timeoutMs: 0 }) as AsyncIterable<unknown>)[
    Symbol.asyncIterator
  ]();
  const timer = setTimeout(
    () => abort.abort(new ConnectError(`${method.name} did not open in time`, Code.DeadlineExceeded)),
    options.openTimeoutMs,
  );
  let first: IteratorResult<unknown>;
  try {
    first = await it.next();
  } catch (err) {
    abort.abort();
    throw fromRpcError(err, options.serviceName);
  } finally {
    clearTimeout(timer);
  }
  return (async function* () {
    try {
      for (let next = first; !next.done; next = await it.next()) yield resultOf(method, next.value);
    } catch (err) {
      throw fromRpcError(err, options.serviceName);
    } finally {
      abort.abort(); // ends the call if the reader stopped early; a no-op once it completed
    }
  })();
}

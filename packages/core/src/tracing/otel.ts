import { createRequire } from 'node:module';

// `@opentelemetry/api` is an optional peer of @mailroom/core. It is looked for once, on first use,
// with a synchronous require (no top-level await, nothing imported eagerly): where it is not
// installed, tracing is off and costs one check of a cached value per delivery. Its global
// tracer provider, propagators and context manager are shared by every copy of the API of one
// major version, so the copy found here sees the SDK the application registered.
//
// The types below are the few parts of the API this package uses, written out so that the
// published declarations never name a package the user may not have installed.

/** An OpenTelemetry context (opaque here). */
export type OtelContext = object;

/** A span's identity (OpenTelemetry `SpanContext`). */
export type OtelSpanContext = {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote?: boolean;
  traceState?: { serialize(): string };
};

/** The part of an OpenTelemetry `Span` used here. */
export type OtelSpan = {
  spanContext(): OtelSpanContext;
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  isRecording(): boolean;
  end(): void;
};

type Tracer = {
  startSpan(
    name: string,
    options: { kind: number; attributes: Record<string, string | number | boolean> },
    context: OtelContext,
  ): OtelSpan;
};

/** The part of `@opentelemetry/api` used here. */
export type OtelApi = {
  trace: {
    getTracer(name: string, version?: string): Tracer;
    getTracerProvider(): { getDelegate?(): unknown };
    setSpan(context: OtelContext, span: OtelSpan): OtelContext;
    setSpanContext(context: OtelContext, spanContext: OtelSpanContext): OtelContext;
    getSpan(context: OtelContext): OtelSpan | undefined;
  };
  context: {
    active(): OtelContext;
    with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
      context: OtelContext,
      fn: F,
      thisArg?: unknown,
      ...args: A
    ): ReturnType<F>;
  };
  ROOT_CONTEXT: OtelContext;
  isSpanContextValid(spanContext: OtelSpanContext): boolean;
  createTraceState?(raw?: string): { serialize(): string };
  ProxyTracerProvider?: new () => { getDelegate(): unknown };
};

/** `undefined`: not looked for yet; `null`: not installed. */
let api: OtelApi | null | undefined;
let loadError: unknown;
/** The API's no-op tracer provider: the global provider's delegate until an SDK is registered. */
let noopProvider: unknown;

const NOT_FOUND = new Set(['MODULE_NOT_FOUND', 'ERR_MODULE_NOT_FOUND', 'ERR_PACKAGE_PATH_NOT_EXPORTED']);

/** `@opentelemetry/api` when it is installed, else `undefined` (looked for once). */
export function otel(): OtelApi | undefined {
  if (api === undefined) {
    try {
      api = createRequire(import.meta.url)('@opentelemetry/api') as OtelApi;
      noopProvider = api.ProxyTracerProvider ? new api.ProxyTracerProvider().getDelegate() : undefined;
    } catch (err) {
      api = null;
      // Not installed is the ordinary case; anything else is said once by `tracingProblem`.
      if (!NOT_FOUND.has((err as { code?: string }).code ?? '')) loadError = err;
    }
  }
  return api ?? undefined;
}

/**
 * `@opentelemetry/api` when spans are recorded: it is installed and an SDK registered a tracer
 * provider. Else `undefined`, found without allocating: an application with the API but no SDK
 * pays one look at the global provider per send and per delivery, and its mail carries no trace
 * context (nothing would record its spans).
 */
export function recording(): OtelApi | undefined {
  const a = api === undefined ? otel() : api;
  if (!a) return undefined;
  const provider = a.trace.getTracerProvider();
  return provider.getDelegate !== undefined && provider.getDelegate() === noopProvider ? undefined : a;
}

/**
 * Why tracing is off although `@opentelemetry/api` may be installed (it failed to load), once:
 * the runtime logs it. `undefined` when there is nothing to say.
 */
export function tracingProblem(): unknown {
  otel();
  const err = loadError;
  loadError = undefined;
  return err;
}

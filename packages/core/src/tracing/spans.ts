import type { Message, SendResult } from '../wire/model.js';
import { type OtelApi, type OtelContext, type OtelSpan, type OtelSpanContext, otel, recording } from './otel.js';

/**
 * The W3C trace context a protocol mail carries in its JSON body (the API has no mail headers):
 * `traceparent` (`00-{trace id}-{span id}-{flags}`) and, when the trace has one, `tracestate`.
 */
export type TraceFields = { traceparent: string; tracestate?: string };

/** A span of this package (an OpenTelemetry span, opaque to its callers). */
export type MailSpan = OtelSpan;

/**
 * Whether spans are recorded (`@opentelemetry/api` installed and an SDK registered): the hooks of
 * the hot path check this first, and do nothing else when it is not so.
 */
export const tracingOn = (): boolean => recording() !== undefined;

/** The name of the tracer (its instrumentation scope). */
export const TRACER_NAME = '@mailroom/core';

// OpenTelemetry span kinds and status codes (numbers of the API's enums).
const PRODUCER = 3;
const CONSUMER = 4;
const INTERNAL = 0;
const ERROR = 2;

type Attributes = Record<string, string | number | boolean>;
// Asked for at each span (the SDK keeps its tracers): a provider registered later is used.
const tracerOf = (api: OtelApi) => api.trace.getTracer(TRACER_NAME);

const base = (operation: 'send' | 'receive' | 'process', destination: string): Attributes => ({
  'messaging.system': 'mailroom',
  'messaging.operation.type': operation,
  'messaging.operation.name': operation,
  'messaging.destination.name': destination,
});

const HEX = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** The remote span a mail's trace fields name, or `undefined` when they name none (or are invalid). */
export function parseTraceFields(traceparent: string | undefined, tracestate?: string): OtelSpanContext | undefined {
  if (traceparent === undefined) return undefined;
  const m = HEX.exec(traceparent);
  if (!m || traceparent.startsWith('ff') || (traceparent.startsWith('00') && traceparent.length !== 55))
    return undefined;
  const [, traceId, spanId, flags] = m as unknown as [string, string, string, string];
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  const api = otel();
  const traceState = tracestate && api?.createTraceState ? api.createTraceState(tracestate) : undefined;
  return {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16),
    isRemote: true,
    ...(traceState ? { traceState } : {}),
  };
}

/** The trace fields a mail sent under `span` carries: its trace context, or none when it has none. */
export function traceFieldsOf(span: MailSpan | undefined): TraceFields | undefined {
  if (!span) return undefined;
  const api = otel();
  const sc = span.spanContext();
  if (!api?.isSpanContextValid(sc)) return undefined;
  const traceparent = `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
  const state = sc.traceState?.serialize();
  return state ? { traceparent, tracestate: state } : { traceparent };
}

/** The trace fields of the active span (the handler's, where a context manager is registered). */
export function activeTraceFields(): TraceFields | undefined {
  const api = recording();
  if (!api) return undefined;
  return traceFieldsOf(api.trace.getSpan(api.context.active()));
}

const contextOf = (api: OtelApi, parent: MailSpan | undefined): OtelContext =>
  parent ? api.trace.setSpan(api.context.active(), parent) : api.context.active();

/**
 * `send {to}` (a producer span) for a mail about to go out, child of `parent` (else of the active
 * span). Its trace fields go into the mail; `spanSent` adds the message id the post office gave.
 * `undefined` when tracing is off.
 */
export function startSend(
  to: string,
  details: { kind: string; taskId?: string | undefined; taskName?: string | undefined },
  parent?: MailSpan,
): MailSpan | undefined {
  const api = recording();
  if (!api) return undefined;
  const attributes = base('send', to);
  attributes['mailroom.mail.kind'] = details.kind;
  if (details.taskId !== undefined) attributes['mailroom.task.id'] = details.taskId;
  if (details.taskName !== undefined) attributes['mailroom.task.name'] = details.taskName;
  return tracerOf(api).startSpan(`send ${to}`, { kind: PRODUCER, attributes }, contextOf(api, parent));
}

/** The mail of a `send` span went out as `sent`. */
export function spanSent(span: MailSpan | undefined, sent: SendResult): void {
  if (!span) return;
  span.setAttribute('messaging.message.id', sent.message_id);
  span.setAttribute('messaging.message.conversation_id', sent.thread_id);
}

/**
 * `receive {agent}` (a consumer span): one delivery of `message` to the agent at `agent`,
 * continuing the trace its mail carries (`traceparent`), else the active one.
 */
export function startDelivery(
  agent: string,
  message: Message,
  details: { kind: string; taskId?: string | undefined },
  fields: { traceparent?: string | undefined; tracestate?: string | undefined } | undefined,
): MailSpan | undefined {
  const api = recording();
  if (!api) return undefined;
  const attributes = base('receive', agent);
  attributes['mailroom.mail.kind'] = details.kind;
  if (details.taskId !== undefined) attributes['mailroom.task.id'] = details.taskId;
  attributes['messaging.message.id'] = message.message_id;
  attributes['messaging.message.conversation_id'] = message.thread_id;
  const remote = fields ? parseTraceFields(fields.traceparent, fields.tracestate) : undefined;
  const parent = remote ? api.trace.setSpanContext(api.ROOT_CONTEXT, remote) : api.context.active();
  return tracerOf(api).startSpan(`receive ${agent}`, { kind: CONSUMER, attributes }, parent);
}

/** `process {agent}`: the handler's run for one delivery, child of it. */
export function startProcess(
  agent: string,
  delivery: MailSpan,
  details: { kind: string; taskId?: string | undefined; taskName?: string | undefined; attempt: number },
): MailSpan | undefined {
  const api = recording();
  if (!api) return undefined;
  const attributes = base('process', agent);
  attributes['mailroom.mail.kind'] = details.kind;
  attributes['mailroom.delivery.attempt'] = details.attempt;
  if (details.taskId !== undefined) attributes['mailroom.task.id'] = details.taskId;
  if (details.taskName !== undefined) attributes['mailroom.task.name'] = details.taskName;
  return tracerOf(api).startSpan(`process ${agent}`, { kind: INTERNAL, attributes }, contextOf(api, delivery));
}

/** Runs `fn` with `span` the active span (the handler's spans and delegates are its children). */
export function withSpan<T>(span: MailSpan | undefined, fn: () => T): T {
  const api = recording();
  if (!span || !api) return fn();
  return api.context.with(api.trace.setSpan(api.context.active(), span), fn);
}

/**
 * Ends a span; with `err` it is marked failed with the error's type only (`error.type`): an
 * error's message may quote a mail, and bodies never leave the process through tracing.
 */
export function endSpan(span: MailSpan | undefined, err?: unknown, attribute?: [string, string]): void {
  if (!span) return;
  if (attribute) span.setAttribute(attribute[0], attribute[1]);
  if (err !== undefined) {
    const type = err instanceof Error ? err.name : typeof err;
    span.setAttribute('error.type', type);
    span.setStatus({ code: ERROR });
  }
  span.end();
}

/** Ends a `send` span when its mail went out (or failed to): the result of `sending`, as it is. */
export function sentUnder(span: MailSpan, sending: Promise<SendResult>): Promise<SendResult> {
  return sending.then(
    (sent) => {
      spanSent(span, sent);
      span.end();
      return sent;
    },
    (err: unknown) => {
      endSpan(span, err);
      throw err;
    },
  );
}

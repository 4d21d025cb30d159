import { SpanKind, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent, type AgentContext, type Task } from '../agents/agent.js';
import { decodeMessage } from '../protocol/codec.js';
import type { Runtime } from '../runtime/runtime.js';
import { embeddedRuntime } from '../testing/index.js';

const SECRET = 'the body of this task, never in a span';

/** Delegates each task to `helper` from its handler and answers with the helper's result. */
class Boss extends Agent {
  constructor(private readonly helper: () => string) {
    super();
  }
  override async onTask(task: Task, ctx: AgentContext) {
    const { taskId } = await ctx.delegate(this.helper(), { name: 'help', description: SECRET, input: task.input });
    const [outcome] = await ctx.collect([taskId], { timeoutMs: 5000 });
    return { helped: outcome?.state === 'completed' ? outcome.result : outcome };
  }
}
class Helper extends Agent {
  override onTask(task: Task) {
    return `done: ${String(task.input)}`;
  }
}

/** Resolves a wait when a span that matches it ends (a span ends after its message settled). */
class SpanWaiter implements SpanProcessor {
  private waits: { match: (s: ReadableSpan) => boolean; resolve: () => void }[] = [];
  private ended: ReadableSpan[] = [];
  until(match: (s: ReadableSpan) => boolean): Promise<void> {
    if (this.ended.some(match)) return Promise.resolve();
    return new Promise((resolve) => this.waits.push({ match, resolve }));
  }
  /** Resolves once `agent` received a mail of `kind`, and that delivery ended. */
  delivered(agent: string, kind: string): Promise<void> {
    return this.until((s) => s.name === `receive ${agent}` && s.attributes['mailroom.mail.kind'] === kind);
  }
  reset(): void {
    this.ended = [];
  }
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.ended.push(span);
    for (const w of this.waits.filter((w) => w.match(span))) w.resolve();
    this.waits = this.waits.filter((w) => !w.match(span));
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const exporter = new InMemorySpanExporter();
const waiter = new SpanWaiter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter), waiter] });
const runtimes: Runtime[] = [];
beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
});
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
  exporter.reset();
  waiter.reset();
});
afterAll(async () => {
  trace.disable();
  await provider.shutdown();
});

const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
/** The span ids from `span` up to its root, through the spans recorded. */
const chain = (spans: readonly ReadableSpan[], span: ReadableSpan): string[] => {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  const out = [span.spanContext().spanId];
  for (let p = parentOf(span); p; p = parentOf(byId.get(p) as ReadableSpan)) {
    out.push(p);
    if (!byId.has(p)) break;
  }
  return out;
};
const find = (spans: readonly ReadableSpan[], name: string, attrs: Record<string, unknown> = {}) => {
  const found = spans.filter((s) => s.name === name && Object.entries(attrs).every(([k, v]) => s.attributes[k] === v));
  expect(found, `one span ${name} ${JSON.stringify(attrs)}`).toHaveLength(1);
  return found[0] as ReadableSpan;
};

describe('tracing with OpenTelemetry (in one process)', () => {
  it('a task, the delegate its handler sends, and both answers are one trace: send → receive → process → send …', async () => {
    const { runtime, userRef, postOffice } = await embeddedRuntime(runtimes);
    const helper = await runtime.spawn(new Helper(), { id: 'helper' });
    const boss = await runtime.spawn(new Boss(() => helper.address), { id: 'boss' });
    const { taskId } = await userRef.delegate(boss.address, { name: 'plan', description: SECRET, input: 'x' });
    const [outcome] = await userRef.collect([taskId], { timeoutMs: 5000 });
    expect(outcome).toMatchObject({ state: 'completed', result: { helped: 'done: x' } });
    await Promise.all([waiter.delivered(boss.address, 'result'), waiter.delivered(userRef.address, 'result')]);
    await runtime.stop();

    const spans = exporter.getFinishedSpans();
    // Every span of the exchange is in the trace the user's TASK opened.
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);

    const userSend = find(spans, `send ${boss.address}`, { 'mailroom.mail.kind': 'task' });
    expect(userSend.kind).toBe(SpanKind.PRODUCER);
    expect(parentOf(userSend)).toBeUndefined();
    const bossTask = find(spans, `process ${boss.address}`, { 'mailroom.mail.kind': 'task' });
    const delegateSend = find(spans, `send ${helper.address}`, { 'mailroom.mail.kind': 'task' });
    const helperTask = find(spans, `process ${helper.address}`, { 'mailroom.mail.kind': 'task' });
    const helperReceive = find(spans, `receive ${helper.address}`);
    const helperReply = find(spans, `send ${boss.address}`, { 'mailroom.mail.kind': 'reply' });
    const bossResult = find(spans, `process ${boss.address}`, { 'mailroom.mail.kind': 'result' });

    // The helper's handler ← its delivery ← the boss's send of the delegate ← the boss's handler ← the user's send.
    expect(chain(spans, helperTask)).toEqual([
      helperTask.spanContext().spanId,
      helperReceive.spanContext().spanId,
      delegateSend.spanContext().spanId,
      bossTask.spanContext().spanId,
      chain(spans, bossTask)[1],
      userSend.spanContext().spanId,
    ]);
    // The reply is sent under the helper's handler, and the RESULT's handling continues from it.
    expect(parentOf(helperReply)).toBe(helperTask.spanContext().spanId);
    expect(chain(spans, bossResult)).toContain(helperTask.spanContext().spanId);

    // OpenTelemetry's messaging conventions: system, operation, destination, the post office's message id.
    expect(delegateSend.attributes).toMatchObject({
      'messaging.system': 'mailroom',
      'messaging.operation.type': 'send',
      'messaging.destination.name': helper.address,
      'mailroom.task.name': 'help',
    });
    expect(delegateSend.attributes['messaging.message.id']).toEqual(expect.any(String));
    expect(helperReceive.kind).toBe(SpanKind.CONSUMER);
    expect(helperReceive.attributes).toMatchObject({
      'messaging.operation.type': 'receive',
      'messaging.destination.name': helper.address,
      'messaging.message.id': delegateSend.attributes['messaging.message.id'],
      'mailroom.delivery.state': 'settled',
    });
    expect(helperTask.attributes).toMatchObject({
      'messaging.operation.type': 'process',
      'mailroom.delivery.attempt': 1,
    });
    // No body, input or result in any span.
    const everything = JSON.stringify(spans.map((s) => [s.name, s.attributes, s.events]));
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain('done: x');

    // The TASK mail carries the W3C trace context of its send span, in its JSON body.
    const task = await postOffice.message(helper.address, delegateSend.attributes['messaging.message.id'] as string);
    const body = JSON.parse(task?.body_text ?? '{}') as { traceparent?: string };
    const sc = delegateSend.spanContext();
    expect(body.traceparent).toBe(`00-${sc.traceId}-${sc.spanId}-01`);
  });

  it('a handler that fails marks its span failed with the error type only; the ERROR continues the trace', async () => {
    class Failing extends Agent {
      override onTask(): never {
        throw new TypeError(`bad input: ${SECRET}`);
      }
    }
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const worker = await runtime.spawn(new Failing(), { id: 'failing', maxAttempts: 1 });
    const { taskId } = await userRef.delegate(worker.address, { name: 'fail', description: 'd' });
    const [outcome] = await userRef.collect([taskId], { timeoutMs: 5000 });
    expect(outcome?.state).toBe('failed');
    await waiter.delivered(userRef.address, 'error');
    await runtime.stop();
    const spans = exporter.getFinishedSpans();
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
    const failed = find(spans, `process ${worker.address}`);
    expect(failed.status.code).toBe(2);
    expect(failed.attributes['error.type']).toBe('TypeError');
    expect(find(spans, `receive ${worker.address}`).attributes['mailroom.delivery.state']).toBe('dead-lettered');
    expect(JSON.stringify(spans.map((s) => [s.attributes, s.status, s.events]))).not.toContain(SECRET);
    const errorHandled = find(spans, `process ${userRef.address}`, { 'mailroom.mail.kind': 'error' });
    expect(chain(spans, errorHandled)).toContain(failed.spanContext().spanId);
  });
});

describe('trace context written by another client', () => {
  it('a TASK with a traceparent joins that trace; a malformed one starts a new trace and the task runs all the same', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const helper = await runtime.spawn(new Helper(), { id: 'helper' });
    const theirs = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const task = (id: string, traceparent: string) => ({
      to: [helper.address],
      subject: `TASK:${id} — help`,
      body_text: JSON.stringify({ task_id: id, description: 'd', input: id, traceparent, tracestate: 'vendor=x' }),
    });
    await userRef.sendRequest(task('t-joined', theirs));
    await userRef.sendRequest(task('t-fresh', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'));
    const delivered = (id: string) =>
      waiter.until((s) => s.name === `receive ${helper.address}` && s.attributes['mailroom.task.id'] === id);
    await Promise.all([delivered('t-joined'), delivered('t-fresh')]);
    await runtime.stop();
    const receive = (taskId: string) =>
      find(exporter.getFinishedSpans(), `receive ${helper.address}`, { 'mailroom.task.id': taskId });
    const joined = receive('t-joined');
    expect(joined.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(parentOf(joined)).toBe('00f067aa0ba902b7');
    expect(joined.spanContext().traceState?.get('vendor')).toBe('x');
    const fresh = receive('t-fresh');
    expect(parentOf(fresh)).toBeUndefined();
    expect(fresh.spanContext().traceId).not.toBe('00000000000000000000000000000000');
    expect(fresh.attributes['mailroom.delivery.state']).toBe('settled');
  });
});

describe('tracing with the API but no SDK', () => {
  it('records nothing, and mail carries no trace context', async () => {
    trace.disable();
    try {
      const { runtime, userRef, postOffice } = await embeddedRuntime(runtimes);
      const helper = await runtime.spawn(new Helper(), { id: 'helper' });
      const { taskId, messageId } = await userRef.delegate(helper.address, { name: 'h', description: 'd', input: 1 });
      expect((await userRef.collect([taskId], { timeoutMs: 5000 }))[0]).toMatchObject({ result: 'done: 1' });
      const task = await postOffice.message(helper.address, messageId ?? '');
      expect(JSON.parse(task.body_text ?? '{}')).not.toHaveProperty('traceparent');
      await runtime.stop();
      expect(exporter.getFinishedSpans()).toEqual([]);
    } finally {
      trace.setGlobalTracerProvider(provider);
    }
  });
});

describe('trace fields in protocol bodies', () => {
  const message = (subject: string, body: unknown) => ({
    message_id: 'm1',
    thread_id: 't1',
    from_address: 'a@x',
    to_addresses: ['b@x'],
    cc_addresses: [],
    subject,
    body_text: JSON.stringify(body),
    in_reply_to: null,
    created_at: '2026-01-01T00:00:00Z',
    is_read: false,
  });

  it('are decoded when present, ignored when malformed, and never needed (a seed client sends none)', () => {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const withFields = decodeMessage(
      message('TASK:t1 — x', { task_id: 't1', description: 'd', traceparent: tp, tracestate: 'k=v' }) as never,
    );
    expect(withFields).toMatchObject({ kind: 'task', body: { traceparent: tp, tracestate: 'k=v' } });
    const malformed = decodeMessage(message('RESULT:t1', { task_id: 't1', result: 1, traceparent: 42 }) as never);
    expect(malformed).toMatchObject({ kind: 'result', body: { task_id: 't1', result: 1 } });
    expect((malformed as { body: object }).body).not.toHaveProperty('traceparent', 42);
    expect(decodeMessage(message('RESULT:t1', { task_id: 't1', result: 1 }) as never)).toMatchObject({
      kind: 'result',
    });
  });
});

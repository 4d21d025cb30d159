import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Agent, createRuntime } from '@mailroom/core';
import { HttpMailbox } from '@mailroom/http';
import { SpanKind, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { registerOn, startServerProcess } from './support/server-process.js';

// Tracing across processes: a requester here and a worker in a child process, each with
// OpenTelemetry's SDK, both on a mailroom-server process over a SQLite file. The worker sends the
// spans it recorded back over IPC; together they must be one trace.
const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mailroom-trace-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A finished span as either process reports it. */
type SpanJson = {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  attributes: Record<string, unknown>;
  pid: number;
};
const asJson = (s: ReadableSpan): SpanJson => ({
  name: s.name,
  kind: s.kind,
  traceId: s.spanContext().traceId,
  spanId: s.spanContext().spanId,
  parentSpanId: s.parentSpanContext?.spanId,
  attributes: s.attributes,
  pid: process.pid,
});

/** The spans from `span` up through its parents, as far as the spans of both processes reach. */
function ancestry(spans: readonly SpanJson[], span: SpanJson): SpanJson[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const out = [span];
  for (let p = byId.get(span.parentSpanId ?? ''); p; p = byId.get(p.parentSpanId ?? '')) out.push(p);
  return out;
}
const one = (spans: readonly SpanJson[], name: string, kind: string): SpanJson => {
  const found = spans.filter((s) => s.name === name && s.attributes['mailroom.mail.kind'] === kind);
  expect(found, `one ${name} (${kind})`).toHaveLength(1);
  return found[0] as SpanJson;
};

/** Resolves `ended` once a span ends that matches `match` (a delivery's span ends once it settled). */
function spanEnded(match: (s: ReadableSpan) => boolean): SpanProcessor & { ended: Promise<void> } {
  let resolve = () => {};
  const ended = new Promise<void>((r) => {
    resolve = r;
  });
  return {
    ended,
    onStart() {},
    onEnd: (span) => match(span) && resolve(),
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

describe('tracing across two processes', () => {
  it('a TASK from one process and its handling in another are one trace, and the RESULT continues it', async () => {
    const exporter = new InMemorySpanExporter();
    const resultDelivered = spanEnded(
      (s) => s.name.startsWith('receive requester@') && s.attributes['mailroom.mail.kind'] === 'result',
    );
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter), resultDelivered],
    });
    trace.setGlobalTracerProvider(provider);
    const { child: server, url } = await startServerProcess(join(dir, 'mail.db'));
    children.push(server);
    const runtime = createRuntime({});
    try {
      const requesterAccount = await registerOn(url, 'requester');
      const workerAccount = await registerOn(url, 'translator');
      const worker = spawn(
        process.execPath,
        [join(root, 'test/fixtures/traced-worker.mjs'), url, workerAccount.api_key],
        { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
      );
      children.push(worker);
      const workerSpans = new Promise<SpanJson[]>((resolve, reject) => {
        worker.on('message', (m: { spans: SpanJson[] }) => resolve(m.spans));
        worker.on('exit', (code) => reject(new Error(`the worker exited (${code}) before it sent its spans`)));
      });
      await new Promise<void>((resolve) => worker.stdout?.on('data', (d) => String(d).includes('ready') && resolve()));

      const me = await runtime.spawn(new (class Requester extends Agent {})(), {
        mailbox: await HttpMailbox.connect({ baseUrl: url, apiKey: requesterAccount.api_key }),
      });
      const job = await me.delegate(workerAccount.email_address, {
        name: 'translate',
        description: 'reverse the words',
        input: { text: 'one trace two processes' },
      });
      const [outcome] = await me.collect([job.taskId], { timeoutMs: 20_000 });
      expect(outcome).toMatchObject({ state: 'completed', result: 'processes two trace one' });
      const theirs = await workerSpans;
      await resultDelivered.ended;
      await runtime.stop();
      const ours = exporter.getFinishedSpans().map(asJson);
      const all = [...ours, ...theirs];

      // Spans from both processes, all in one trace.
      expect(new Set(all.map((s) => s.pid)).size).toBe(2);
      expect(new Set(all.map((s) => s.traceId))).toEqual(new Set([ours[0]?.traceId]));

      const send = one(ours, `send ${workerAccount.email_address}`, 'task');
      expect(send.kind).toBe(SpanKind.PRODUCER);
      const handler = one(theirs, `process ${workerAccount.email_address}`, 'task');
      // The worker's handler ← its delivery of the TASK ← the requester's send, in the other process.
      expect(ancestry(all, handler).map((s) => [s.name, s.pid])).toEqual([
        [`process ${workerAccount.email_address}`, worker.pid],
        [`receive ${workerAccount.email_address}`, worker.pid],
        [`send ${workerAccount.email_address}`, process.pid],
      ]);
      expect(handler.attributes).toMatchObject({
        'messaging.system': 'mailroom',
        'messaging.operation.type': 'process',
        'mailroom.task.id': job.taskId,
        'mailroom.task.name': 'translate',
      });

      // The RESULT: sent under the worker's handler; its delivery here continues from there.
      const reply = one(theirs, `send ${requesterAccount.email_address}`, 'reply');
      expect(reply.parentSpanId).toBe(handler.spanId);
      const result = one(ours, `receive ${requesterAccount.email_address}`, 'result');
      expect(result.attributes['messaging.message.id']).toBe(reply.attributes['messaging.message.id']);
      expect(ancestry(all, result).map((s) => s.spanId)).toEqual([
        result.spanId,
        handler.spanId,
        handler.parentSpanId,
        send.spanId,
      ]);
      // The worker's STATUS on the way is in the trace too.
      expect(one(ours, `receive ${requesterAccount.email_address}`, 'status').parentSpanId).toBe(handler.spanId);
      // No body in any span.
      expect(JSON.stringify(all)).not.toContain('one trace two processes');
      expect(JSON.stringify(all)).not.toContain('processes two trace one');
    } finally {
      await runtime.stop();
      trace.disable();
      await provider.shutdown();
    }
  });

  it('without @opentelemetry/api installed an agent runs as before, and its mail carries no trace context', async () => {
    // Resolve hooks make `@opentelemetry/api` unfindable, for `import` and for `require` alike, as
    // in a project that never installed it.
    const scratch = join(dir, 'no-otel');
    mkdirSync(scratch, { recursive: true });
    writeFileSync(
      join(scratch, 'hooks.mjs'),
      "export async function resolve(s, c, next) { if (s === '@opentelemetry/api' || s.startsWith('@opentelemetry/')) { const e = new Error('Cannot find package ' + s); e.code = 'ERR_MODULE_NOT_FOUND'; throw e; } return next(s, c); }",
    );
    writeFileSync(
      join(scratch, 'register.mjs'),
      [
        "import Module, { register } from 'node:module';",
        "register('./hooks.mjs', import.meta.url);",
        'const resolveFilename = Module._resolveFilename;',
        "Module._resolveFilename = function (request, ...rest) { if (request.startsWith('@opentelemetry/')) { const e = new Error('Cannot find module ' + request); e.code = 'MODULE_NOT_FOUND'; throw e; } return resolveFilename.call(this, request, ...rest); };",
      ].join('\n'),
    );
    const core = pathToFileURL(join(root, 'packages/core/dist/index.js')).href;
    const program = `
      let found = 'yes';
      try { await import('@opentelemetry/api'); } catch { found = 'no'; }
      try { (await import('node:module')).createRequire(${JSON.stringify(core)})('@opentelemetry/api'); } catch { found += ', no'; }
      const { Agent, createRuntime, MemoryPostOffice } = await import(${JSON.stringify(core)});
      const postOffice = new MemoryPostOffice();
      const warnings = [];
      const logger = (await import('pino')).pino({ level: 'warn' }, { write: (l) => warnings.push(JSON.parse(l).msg) });
      const runtime = createRuntime({ postOffice, logger });
      const worker = await runtime.spawn(new (class extends Agent { onTask(t) { return t.input * 2; } })(), { id: 'worker' });
      const boss = await runtime.spawn(new (class extends Agent {})(), { id: 'boss' });
      const job = await boss.delegate(worker.address, { name: 'double', description: 'd', input: 21 });
      const [outcome] = await boss.collect([job.taskId], { timeoutMs: 5000 });
      const task = await postOffice.message(worker.address, job.messageId);
      await runtime.stop();
      console.log(JSON.stringify({ found, result: outcome.result, traceparent: 'traceparent' in JSON.parse(task.body_text), warnings }));`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', pathToFileURL(join(scratch, 'register.mjs')).href, '--input-type=module', '-e', program],
      { cwd: root },
    );
    expect(JSON.parse(stdout)).toEqual({ found: 'no, no', result: 42, traceparent: false, warnings: [] });
  });
});

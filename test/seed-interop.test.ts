import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Agent,
  type AgentContext,
  type AgentRef,
  contribute,
  createRuntime,
  defineTask,
  type Escalation,
  type Message,
  openSharedThread,
  type Runtime,
  type Task,
} from '@mailroom/core';
import { registeringMailboxFactory } from '@mailroom/http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startServer } from './support/server.js';

// The seed guide's Python, as written, against mailroom-server with Mailroom agents on HttpMailbox.
// The guide is read where it lies (never copied here); test/fixtures/seed_interop.py cuts its
// classes out at run time and patches only its base URL, poll interval and elided addresses.
const here = dirname(fileURLToPath(import.meta.url));
const GUIDE = resolve(
  process.env.MAILROOM_SEED_GUIDE ?? join(here, '../../shared/seed/agent-to-agent-email-coordination.txt'),
);
const HARNESS = join(here, 'fixtures/seed_interop.py');
const DOMAIN = 'agents.moltbotden.com';
/** Debian's python3 with python3-httpx (.ci/run installs it), else whichever python3 has httpx. */
const PYTHON =
  [process.env.MAILROOM_PYTHON, '/usr/bin/python3', 'python3'].find(
    (p) => p !== undefined && spawnSync(p, ['-c', 'import httpx']).status === 0,
  ) ?? 'python3';

/** Runs one scenario of the harness; resolves with what the seed's code saw. */
function python(scenario: string, config: object): Promise<unknown> {
  return new Promise((done, fail) => {
    execFile(PYTHON, [HARNESS, GUIDE, scenario, JSON.stringify(config)], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) fail(new Error(`python ${scenario}: ${err.message}\n${stderr}`));
      else done(JSON.parse(stdout.trim().split('\n').pop() ?? 'null'));
    });
  });
}

class Specialist extends Agent {
  override onTask(task: Task) {
    return `${task.name}: ${task.description}`;
  }
}

class Plain extends Agent {}

describe('the seed guide’s Python against Mailroom agents', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let runtime: Runtime;
  const py = async (id: string) => ({ ...(await server.register(id)), id });

  beforeEach(async () => {
    expect(existsSync(GUIDE), `the seed guide is read from ${GUIDE}`).toBe(true);
    server = await startServer({ office: { domain: DOMAIN } });
    runtime = createRuntime({ mailboxFactory: registeringMailboxFactory({ baseUrl: server.url }) });
  });
  afterEach(async () => {
    await runtime.stop();
    await server.close();
  });

  it('the seed’s OrchestratorAgent delegates (numeric deadlines) and collects every specialist’s real result', async () => {
    for (const id of ['research-agent', 'data-agent', 'summary-agent']) await runtime.spawn(new Specialist(), { id });
    const orchestrator = await py('py-orchestrator');
    const results = await python('orchestrator', {
      url: server.url,
      key: orchestrator.api_key,
      agent_id: orchestrator.id,
      tasks: [
        { id: 'search', name: 'Web Search', description: 'Search for: agents', specialist: 'research-agent' },
        { id: 'analyze', name: 'Analysis', description: 'Analyze: agents', specialist: 'data-agent' },
        { id: 'cite', name: 'Citations', description: 'Sources for: agents', specialist: 'summary-agent' },
      ],
    });
    expect(results).toEqual({
      search: 'Web Search: Search for: agents',
      analyze: 'Analysis: Analyze: agents',
      cite: 'Citations: Sources for: agents',
    });
  });

  it('a Mailroom orchestrator’s collect and ask complete with seed-style Python workers (Re: subjects, {task_id, result}, plain text)', async () => {
    const boss = await runtime.spawn(new Plain(), { id: 'boss' });
    const [pipe, replier, texter] = await Promise.all([py('py-pipe'), py('py-reply'), py('py-text')]);
    const shout = defineTask({ name: 'shout', description: 'shout', input: z.string(), output: z.string() });
    const sent = [
      await boss.delegate(pipe.email_address, { name: 'one', description: 'pipeline' }),
      await boss.delegate(replier.email_address, { name: 'two', description: 'reply' }),
    ];
    const asking = boss.ask(texter.email_address, shout, 'ignored', { timeoutMs: 20_000 });
    const asked = asking.then(
      (output) => ({ output }),
      (error: unknown) => ({ error }),
    );
    await Promise.all([
      python('pipeline_worker', { url: server.url, key: pipe.api_key, agent_id: pipe.id, next: 'boss', count: 1 }),
      python('reply_worker', { url: server.url, key: replier.api_key, count: 1 }),
    ]);
    const outcomes = await boss.collect(
      sent.map((s) => s.taskId),
      { timeoutMs: 20_000 },
    );
    expect(outcomes.map((o) => [o.state, 'result' in o ? o.result : undefined])).toEqual([
      ['completed', 'PIPELINE'],
      ['completed', 'REPLY'],
    ]);
    // A plain-text reply (no task id anywhere) answers the TASK it replies to: the ask's output.
    await python('reply_worker', { url: server.url, key: texter.api_key, count: 1, text: true });
    expect(await asked).toEqual({ output: 'SHOUT' });
  });

  it('callbacks both ways, with any callback_subject text', async () => {
    await runtime.spawn(new Specialist(), { id: 'analyst' });
    const requester = await py('py-requester');
    const seen = (await python('callback_requester', {
      url: server.url,
      key: requester.api_key,
      worker: `analyst@${DOMAIN}`,
      me: requester.email_address,
    })) as { subject: string; body: { task_id: string; result: string } };
    expect(seen.subject).toBe('RESULT: Market analysis complete');
    expect(seen.body.result).toBe(
      'Generate market analysis: Generate comprehensive market analysis for AI agent platforms',
    );

    // Mailroom requester, seed worker: the callback comes as plain text under the chosen subject.
    const boss = await runtime.spawn(new Plain(), { id: 'boss' });
    const worker = await py('py-worker');
    const toPython = await boss.delegate(worker.email_address, {
      name: 'market',
      description: 'AI agent platforms',
      callback: boss.address,
      callbackSubject: 'Market analysis ready',
    });
    // Mailroom to Mailroom with the seed's own callback subject.
    const toMailroom = await boss.delegate(`analyst@${DOMAIN}`, {
      name: 'market',
      description: 'again',
      callback: boss.address,
      callbackSubject: 'RESULT: Market analysis complete',
    });
    await python('callback_worker', { url: server.url, key: worker.api_key });
    const outcomes = await boss.collect([toPython.taskId, toMailroom.taskId], { timeoutMs: 20_000 });
    expect(outcomes.map((o) => ('result' in o ? o.result : o.state))).toEqual([
      'analysis of AI agent platforms',
      'market: again',
    ]);
  });

  it('the seed’s escalate_error mail reaches a Mailroom escalation level as a typed escalation', async () => {
    const got: Escalation[] = [];
    let arrived!: () => void;
    const done = new Promise<void>((r) => (arrived = r));
    await runtime.spawn(
      new (class Lead extends Agent {
        override onEscalation(e: Escalation) {
          got.push(e);
          arrived();
          return undefined;
        }
      })(),
      { id: 'ops-lead' },
    );
    const failing = await py('py-failing');
    const chain = [`ops-lead@${DOMAIN}`, `nobody-1@${DOMAIN}`, `nobody-2@${DOMAIN}`, `human@${DOMAIN}`];
    await python('escalate', { url: server.url, key: failing.api_key, chain });
    await done;
    expect(got[0]).toMatchObject({
      type: 'PaymentFailed',
      message: 'card declined',
      level: 0,
      from: failing.email_address,
      context: { order: 42 },
    });
  });

  it('the seed’s SharedThreadCoordinator opens a thread Mailroom agents join, and joins one Mailroom opened', async () => {
    class Voice extends Agent {
      constructor(private readonly line: string) {
        super();
      }
      override async onMessage(message: Message, ctx: AgentContext) {
        const thread = await ctx.thread(message.thread_id);
        if (thread.messages.some((m) => m.from_address === ctx.address)) return;
        await contribute(ctx, message.thread_id, this.line);
      }
    }
    await runtime.spawn(new Voice('Ship on Monday.'), { id: 'planner' });
    await runtime.spawn(new Voice('After the load test.'), { id: 'tester' });
    const coordinator = await py('py-coordinator');
    const thread = (await python('shared_thread_open', {
      url: server.url,
      key: coordinator.api_key,
      agents: ['planner', 'tester', coordinator.id],
    })) as { from: string; body: string }[];
    expect(thread[0]?.from).toBe(coordinator.email_address);
    expect(
      thread
        .slice(1)
        .map((m) => m.body)
        .sort(),
    ).toEqual(['After the load test.', 'Ship on Monday.']);

    // The reverse: a Mailroom host opens, the seed's contribute_to_thread answers in the thread.
    let replied!: (m: Message) => void;
    const reply = new Promise<Message>((r) => (replied = r));
    const host: AgentRef = await runtime.spawn(
      new (class Host extends Agent {
        override onMessage(m: Message) {
          replied(m);
        }
      })(),
      { id: 'host' },
    );
    const voice = await py('py-voice');
    const opened = await openSharedThread(host, [host.address, voice.email_address], 'release date', 'When?');
    await python('shared_thread_join', { url: server.url, key: voice.api_key });
    const m = await reply;
    expect(m).toMatchObject({ thread_id: opened.thread_id, subject: 'Re: [COLLAB] release date' });
    expect(m.body_text).toBe('Python says: ship it.');
  });
});

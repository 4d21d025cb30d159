import { describe, expect, it } from 'vitest';
import { MemoryPostOffice } from '../post-office/memory/memory-post-office.js';
import { ManualClock } from '../testing/index.js';
import { renderMermaid, renderSvg, renderThreadHtml } from './render.js';
import { renderTimelineText, timeline } from './timeline.js';

async function aThread() {
  const clock = new ManualClock();
  const po = new MemoryPostOffice({ clock });
  const [a, b] = await Promise.all(['alice', 'bob'].map((id) => po.register({ agent_id: id })));
  const task = await po.send(a!.email_address, {
    to: [b!.email_address],
    subject: 'TASK:t-1 — sum <x & y>',
    body_text: '{}',
  });
  clock.advance(40);
  await po.send(b!.email_address, { to: [a!.email_address], subject: 'ACK:t-1', in_reply_to: task.message_id });
  clock.advance(60);
  await po.send(b!.email_address, { to: [a!.email_address], subject: 'RESULT:t-1', in_reply_to: task.message_id });
  return po.thread(a!.email_address, task.thread_id);
}

describe('audit trail', () => {
  it('is a typed timeline: who, when, subject, task state, elapsed', async () => {
    const entries = timeline(await aThread());
    expect(entries.map((e) => [e.elapsedMs, e.from.split('@')[0], e.kind, e.taskId, e.state])).toEqual([
      [0, 'alice', 'task', 't-1', 'submitted'],
      [40, 'bob', 'ack', 't-1', 'accepted'],
      [100, 'bob', 'result', 't-1', 'completed'],
    ]);
    expect(entries.map((e) => e.state)).toEqual(['submitted', 'accepted', 'completed']);
    expect(renderTimelineText(entries).split('\n')[2]).toMatch(/\+100ms +bob → alice +RESULT:t-1 +\(completed\)$/);
  });

  it("takes a STATUS body's own state, and gives no state to mail that is not task mail", async () => {
    const po = new MemoryPostOffice();
    const [a, b] = await Promise.all(['ann', 'ben'].map((id) => po.register({ agent_id: id })));
    const task = await po.send(a!.email_address, { to: [b!.email_address], subject: 'TASK:t-2 — x', body_text: '{}' });
    const reply = { to: [a!.email_address], in_reply_to: task.message_id };
    await po.send(b!.email_address, {
      ...reply,
      subject: 'STATUS:t-2',
      body_text: '{"task_id":"t-2","state":"working"}',
    });
    await po.send(b!.email_address, {
      ...reply,
      subject: 'STATUS:t-2',
      body_text: '{"task_id":"t-2","state":"timed_out"}',
    });
    await po.send(b!.email_address, { ...reply, subject: 'STATUS:t-2', body_text: 'not json' });
    await po.send(b!.email_address, { ...reply, subject: 'a note in passing' });
    const entries = timeline(await po.thread(a!.email_address, task.thread_id));
    expect(entries.map((e) => e.state)).toEqual(['submitted', 'working', 'timed_out', 'working', undefined]);
  });

  it('renders a Mermaid sequence diagram with an arrow per message', async () => {
    const text = renderMermaid(timeline(await aThread()));
    expect(text.split('\n')).toEqual([
      'sequenceDiagram',
      '  participant p0 as alice',
      '  participant p1 as bob',
      '  p0->>p1: TASK:t-1 — sum <x & y> (+0 ms)',
      '  p1->>p0: ACK:t-1 (+40 ms)',
      '  p1->>p0: RESULT:t-1 (+100 ms)',
    ]);
  });

  it('renders a self-contained HTML page whose diagram shows every message, escaped', async () => {
    const thread = await aThread();
    const html = renderThreadHtml(thread);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    const svg = renderSvg(timeline(thread));
    expect(svg.match(/<g class="message"/g)).toHaveLength(3);
    expect(html).toContain('TASK:t-1 — sum &lt;x &amp; y&gt;');
    for (const m of thread.messages) expect(html).toContain(`data-message-id="${m.message_id}"`);
  });
});

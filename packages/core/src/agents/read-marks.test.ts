import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../runtime/runtime.js';
import { embeddedRuntime } from '../testing/index.js';
import type { Message } from '../wire/model.js';
import { Agent } from './agent.js';

const live: Runtime[] = [];
afterEach(async () => {
  await Promise.all(live.splice(0).map((r) => r.stop()));
});

describe('marking handled mail read', () => {
  it('marks the rest of a batch read when one of its messages is gone from the post office', async () => {
    const { runtime, userRef, postOffice } = await embeddedRuntime(live);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const seen: string[] = [];
    let address = '';
    const agent = await runtime.spawn(
      new (class extends Agent {
        override async onMessage(message: Message) {
          seen.push(message.subject);
          // Deleted by its owner while its handler runs: the batch that marks it fails with 404.
          if (message.subject === 'gone') await postOffice.delete(address, message.message_id);
          if (seen.length === 5) open();
          await gate;
        }
      })(),
      { id: 'marker', concurrency: 10 },
    );
    address = agent.address;
    const subjects = ['a', 'b', 'gone', 'c', 'd'];
    for (const s of subjects) await userRef.send(agent.address, s, 'hi');
    await gate;
    // Every handler ends in one turn: their ids go to the post office in one batch. Wait (a bounded
    // number of event-loop turns) for the marks to land.
    for (let i = 0; i < 2_000; i++) {
      if ((await postOffice.inbox(agent.address, { unread_only: true })).unread_count === 0) break;
      await new Promise<void>((r) => setImmediate(r));
    }
    expect([...seen].sort()).toEqual([...subjects].sort());
    const inbox = await postOffice.inbox(agent.address, {});
    expect(inbox.messages.map((m) => [m.subject, m.read_at !== null])).toEqual([
      ['a', true],
      ['b', true],
      ['c', true],
      ['d', true],
    ]);
  });
});

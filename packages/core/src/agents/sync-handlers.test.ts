import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../runtime/runtime.js';
import { embeddedRuntime, VirtualTime } from '../testing/index.js';
import type { Message } from '../wire/model.js';
import { Agent } from './agent.js';

// Handlers that return synchronously settle without a promise (agent-host.ts `run`): the same
// guarantees as for async handlers — retries, per-key order, each message once, marked read.

const live: Runtime[] = [];
afterEach(async () => {
  await Promise.all(live.splice(0).map((r) => r.stop()));
});

/** Resolves once `check` holds, re-checking after each turn of the event loop (bounded). */
async function until(check: () => boolean, turns = 20_000): Promise<void> {
  for (let i = 0; i < turns && !check(); i++) await new Promise<void>((r) => setImmediate(r));
  if (!check()) throw new Error('the condition never held');
}

describe('handlers that return synchronously', () => {
  it('a plain-mail handler that throws synchronously runs again after its backoff, and its mail ends read', async () => {
    const T0 = Date.UTC(2026, 0, 1);
    const vt = new VirtualTime(T0);
    const running: Runtime[] = [];
    const { runtime, userRef, postOffice } = await embeddedRuntime(running, {
      scheduler: vt.scheduler,
      stopTimeoutMs: 1,
    });
    const runsAt: number[] = [];
    let succeeded!: () => void;
    const success = new Promise<void>((r) => (succeeded = r));
    const flaky = await runtime.spawn(
      new (class extends Agent {
        override onMessage() {
          runsAt.push(vt.now() - T0);
          if (runsAt.length < 3) throw new Error('not yet');
          succeeded();
        }
      })(),
      { id: 'flaky-sync', retry: { initialDelayMs: 1000, factor: 2, jitter: 0 } },
    );
    await userRef.send(flaky.address, 'hello', 'hi');
    await vt.until(success);
    await vt.advance(1);
    expect(runsAt).toEqual([0, 1000, 3000]);
    expect((await postOffice.inbox(flaky.address, { unread_only: true })).unread_count).toBe(0);
    const stopping = runtime.stop();
    await vt.advance(1);
    await stopping;
  });

  it('runs 3 000 messages of one lane in order, each once, all marked read', async () => {
    const { runtime, userRef, postOffice } = await embeddedRuntime(live);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const seen: string[] = [];
    const agent = new (class extends Agent {
      override onMessage(message: Message) {
        seen.push(message.body_text ?? '');
        // The first one holds its lane while the rest arrive; every other returns at once.
        if (seen.length === 1) return held;
        return undefined;
      }
    })();
    const ref = await runtime.spawn(agent, {
      id: 'one-lane',
      orderingKey: () => 'all',
      inbox: { limit: 100, maxInFlight: 5000 },
    });
    const sent: string[] = [];
    for (let i = 0; i < 3000; i++) {
      sent.push(`m-${i}`);
      await userRef.send(ref.address, 'n', `m-${i}`);
    }
    release();
    await until(() => seen.length === 3000);
    expect(seen).toEqual(sent);
    await until(() => postOffice.stats().messages === 3000);
    await ref.stop();
    expect((await postOffice.inbox(ref.address, { unread_only: true })).unread_count).toBe(0);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { ForbiddenError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { embeddedRuntime } from '../testing/index.js';
import type { SendRequest } from '../wire/model.js';
import { Agent, type AgentContext, type Task } from './agent.js';
import type { SendHook } from './hooks.js';

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});

class Echo extends Agent {
  override onTask(task: Task) {
    return { echo: task.input };
  }
}

describe('beforeSend hooks', () => {
  it('see every mail an agent sends (ACK and RESULT too) and may change it: a redaction reaches the requester', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const seen: string[] = [];
    const redact: SendHook = (mail) => {
      seen.push(mail.subject.split(':')[0] as string);
      return mail.body_text?.includes('4111')
        ? { change: { ...mail, body_text: mail.body_text.replaceAll('4111', '****') } }
        : undefined;
    };
    const echo = await runtime.spawn(new Echo(), { id: 'echo', beforeSend: redact });
    const { taskId } = await userRef.delegate(echo.address, { name: 'e', description: 'e', input: 'card 4111' });
    const [outcome] = await userRef.collect([taskId], { timeoutMs: 5000 });
    expect(outcome).toMatchObject({ state: 'completed', result: { echo: 'card ****' } });
    expect(seen).toEqual(['ACK', 'RESULT']);
  });

  it('a blocked mail never goes out: the send rejects with ForbiddenError naming the reason', async () => {
    const { runtime, postOffice } = await embeddedRuntime(runtimes);
    const approvals: SendHook = (mail) =>
      mail.to.includes('outside@mail.test') ? { block: 'needs approval' } : undefined;
    const agent = await runtime.spawn(new Echo(), { id: 'sender', beforeSend: [approvals] });
    await expect(agent.send('outside@mail.test', 'hello', 'hi')).rejects.toThrow(ForbiddenError);
    await expect(agent.send('outside@mail.test', 'hello', 'hi')).rejects.toThrow('needs approval');
    const sent = await postOffice.sent(agent.address, {});
    expect(sent.messages).toHaveLength(0);
  });

  it("the agent's own interceptSend runs before the spawn's hooks", async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const order: string[] = [];
    class Signed extends Agent {
      override interceptSend(mail: SendRequest) {
        order.push('agent');
        return { change: { ...mail, body_text: `${mail.body_text} -- signed` } };
      }
      override onMessage(_m: unknown, ctx: AgentContext) {
        return ctx.reply('pong');
      }
    }
    let hooked!: () => void;
    const replied = new Promise<void>((resolve) => (hooked = resolve));
    const hook: SendHook = (mail) => {
      order.push(`spawn saw ${mail.body_text}`);
      hooked();
      return undefined;
    };
    const signed = await runtime.spawn(new Signed(), { id: 'signed', beforeSend: hook });
    await userRef.send(signed.address, 'ping', 'ping');
    await replied;
    expect(order).toEqual(['agent', 'spawn saw pong -- signed']);
  });
});

import type { Logger } from 'pino';
import type { SchedulerLike } from 'rxjs';
import type { AgentOptions } from '../agents/agent-options.js';
import type { Mailbox } from '../mailbox/mailbox.js';
import { SendScheduler } from '../outbox/send-scheduler.js';

/** The SendScheduler an agent sends through, and how to stop it with the agent. */
export type AgentSender = { scheduler: SendScheduler | undefined; stop(): void };

/**
 * Reads the `sendScheduler` spawn option: a SendScheduler given is used as it is (and outlives the
 * agent: others may share it); `true` or a stagger policy makes one for the agent's mailbox, which
 * stops with the agent.
 */
export function sendSchedulerFor(
  option: AgentOptions['sendScheduler'],
  mailbox: Mailbox,
  env: { scheduler: SchedulerLike; logger: Logger },
): AgentSender {
  if (option instanceof SendScheduler) return { scheduler: option, stop: () => {} };
  if (!option) return { scheduler: undefined, stop: () => {} };
  const own = new SendScheduler({
    mailbox,
    scheduler: env.scheduler,
    logger: env.logger,
    ...(option === true ? {} : { stagger: option }),
  });
  return { scheduler: own, stop: () => own.stop() };
}

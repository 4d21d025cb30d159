import { type Logger, pino } from 'pino';
import { Subject } from 'rxjs';
import { z } from 'zod';
import type { AgentActions } from '../agents/agent.js';
import { ValidationError } from '../errors.js';
import type { EscalationStep } from '../protocol/bodies.js';
import type { EscalationDecision } from '../protocol/decision.js';
import { checkOptions } from '../wire/parse.js';
import { EscalationChain } from './escalation-chain.js';
import type { UnansweredEscalation } from './supervision.js';

/** Options of {@link escalate}. */
export type EscalateOptions = {
  /** L0, L1, … and last a human. */
  chain: string[];
  /** How long a level has to answer. */
  ackTimeoutMs: number;
  /** How long a level that acknowledged has to decide. @default 5 × ackTimeoutMs */
  decisionTimeoutMs?: number;
  /** How often the escalation's thread is read for answers. @default 1000 */
  pollMs?: number;
  /** Sent to every level under `Context:`. */
  context?: Record<string, unknown>;
  /** Where skipped levels and timeouts are logged. @default a silent logger */
  logger?: Logger;
};

/** How an escalation ended: the decision and who made it, or none; what each level did. */
export type EscalationOutcome = {
  decision: EscalationDecision | undefined;
  decidedBy: string | undefined;
  history: EscalationStep[];
};

const Options = z.object({
  chain: z.array(z.string().min(1)).min(1),
  ackTimeoutMs: z.number().int().positive(),
  decisionTimeoutMs: z.number().int().positive().optional(),
  pollMs: z.number().int().positive().optional(),
  context: z.record(z.string(), z.unknown()).optional(),
  logger: z.unknown().optional(),
});

/**
 * Escalates an error up a chain for an agent outside a supervisor (the seed's `escalate_error`):
 * `[ESCALATION Ln] {type}` to each level in turn, in one thread, with the same acks, timeouts and
 * skips as a supervisor's chain. Resolves with the first decision, or with none once every level
 * was tried. Answers are read from the thread every `pollMs` on the agent's scheduler.
 */
export function escalate(
  agent: AgentActions,
  error: { type: string; message: string },
  options: EscalateOptions,
): Promise<EscalationOutcome> {
  checkOptions('escalate', Options, options);
  if (!error.type) throw ValidationError.single(['error', 'type'], 'an escalation names its error type');
  const ackTimeoutMs = options.ackTimeoutMs;
  return new Promise<EscalationOutcome>((resolve) => {
    const seen = new Set<string>();
    const unanswered = new Subject<UnansweredEscalation>();
    let history: EscalationStep[] = [];
    const logger = options.logger ?? pino({ level: 'silent' });
    const done = (outcome: EscalationOutcome) => {
      poll.unsubscribe();
      chain.stop();
      resolve(outcome);
    };
    const chain = new EscalationChain({
      supervisor: agent.address,
      chain: options.chain,
      ackTimeoutMs,
      decisionTimeoutMs: options.decisionTimeoutMs ?? 5 * ackTimeoutMs,
      scheduler: agent.scheduler,
      logger,
      mail: () => agent,
      later: (fn) => {
        fn().catch((err: unknown) => logger.error({ err }, 'escalation step failed'));
      },
      decided: async (p, decision, from) => {
        history = (p as { history?: EscalationStep[] }).history ?? history;
        done({ decision, decidedBy: from, history });
      },
      unanswered,
    });
    unanswered.subscribe((u) => done({ decision: undefined, decidedBy: undefined, history: u.history }));
    const read = async () => {
      for (const threadId of chain.threads()) {
        const thread = await agent.thread(threadId);
        for (const m of thread.messages) {
          if (m.from_address === agent.address || seen.has(m.message_id)) continue;
          seen.add(m.message_id);
          await chain.onMail(m);
        }
      }
    };
    const poll = agent.scheduler.schedule(function tick() {
      read()
        .catch((err: unknown) => logger.warn({ err }, 'could not read the escalation thread; trying again'))
        .finally(() => this.schedule(undefined, options.pollMs ?? 1000));
    }, options.pollMs ?? 1000);
    chain
      .escalate({
        child: agent.address,
        error,
        failed: undefined,
        reason: 'escalate',
        ...(options.context ? { context: options.context } : {}),
      })
      .catch((err: unknown) => logger.error({ err }, 'escalation could not start'));
  });
}

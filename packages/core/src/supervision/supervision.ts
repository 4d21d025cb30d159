import type { Ref } from 'nact';
import type { Logger } from 'pino';
import type { SchedulerLike } from 'rxjs';
import { z } from 'zod';
import { Agent, type AgentContext } from '../agents/agent.js';
import type { AgentOptions, Supervision } from '../agents/agent-options.js';
import type { AgentRef } from '../agents/agent-ref.js';
import type { EscalationStep } from '../protocol/bodies.js';
import type { Message } from '../wire/model.js';
import { checkOptions } from '../wire/parse.js';

// The words of supervision: strategies, restart types, child specs, options, decisions.

/** What a supervisor does with a failing child's group. */
export type SupervisionStrategy = 'one-for-one' | 'all-for-one' | 'rest-for-one';
/** When a child is restarted: always, only after a failure, or never. */
export type RestartType = 'permanent' | 'transient' | 'temporary';
/** A supervised agent. */
export type ChildSpec = {
  id: string;
  /** Makes a fresh instance: every restart calls it again (state reset). */
  make: () => Agent;
  /** @default 'permanent' */
  restart?: RestartType;
  options?: AgentOptions;
};
/** A supervised supervisor (supervisors nest). */
export type NestedSpec = { id: string; supervisor: SupervisorOptions };

/** Options of a supervisor. */
export type SupervisorOptions = {
  /** The supervisor's own agent id: escalation mail comes from `<id>@<domain>`. */
  id: string;
  children: (ChildSpec | NestedSpec)[];
  /** @default 'one-for-one' */
  strategy?: SupervisionStrategy;
  /** Restart intensity: at most this many restarts within `withinMs`. @default 3 */
  maxRestarts?: number;
  /** @default 60000 */
  withinMs?: number;
  /** Delay of the n-th restart in the window: min · 2^(n-1), at most max, ± randomFactor. */
  backoff?: { minBackoffMs?: number; maxBackoffMs?: number; randomFactor?: number };
  /** Escalate a handler error at once when this says so (besides intensity). */
  escalateWhen?: (error: unknown) => boolean;
  /**
   * L0, L1, … and last a human: mailed level by level until one decides. A level has `ackTimeoutMs`
   * to answer, and once it acknowledged (replied without a decision) `decisionTimeoutMs` to decide
   * (@default 5 × ackTimeoutMs).
   */
  escalation?: { chain: string[]; ackTimeoutMs: number; decisionTimeoutMs?: number };
  /** @default Math.random */
  random?: () => number;
};

const ms = z.number().int().nonnegative().max(2_147_483_647);
const Spec: z.ZodType = z.lazy(() =>
  z.union([
    z.object({
      id: z.string().min(1),
      make: z.function(),
      restart: z.enum(['permanent', 'transient', 'temporary']).optional(),
    }),
    z.object({ id: z.string().min(1), supervisor: SupervisorOptionsSchema }),
  ]),
);
const SupervisorOptionsSchema: z.ZodType = z.object({
  id: z.string().min(1),
  children: z.array(Spec),
  strategy: z.enum(['one-for-one', 'all-for-one', 'rest-for-one']).optional(),
  maxRestarts: z.number().int().nonnegative().optional(),
  withinMs: ms.positive().optional(),
  backoff: z
    .object({
      minBackoffMs: ms.optional(),
      maxBackoffMs: ms.optional(),
      randomFactor: z.number().min(0).max(1).optional(),
    })
    .optional(),
  escalation: z
    .object({
      // An address the post office refuses is not an option error: the chain skips that level, logged.
      chain: z.array(z.string().min(1)).min(1),
      ackTimeoutMs: ms.positive(),
      decisionTimeoutMs: ms.positive().optional(),
    })
    .optional(),
});

/** Checks a supervisor's options where they enter: one ValidationError naming option, value and rule. */
export function checkSupervisorOptions(options: SupervisorOptions): SupervisorOptions {
  checkOptions('supervisor options', SupervisorOptionsSchema, options);
  return options;
}

/** A failure that went past the last level of the chain (or had no chain): nothing is dropped. */
export type UnansweredEscalation = {
  supervisor: string;
  child: string;
  error: { type: string; message: string };
  levelsTried: number;
  reason: 'intensity' | 'escalateWhen' | 'escalate';
  /** What each level did. */
  history: EscalationStep[];
};

/** The environment a supervisor runs in (the runtime lends it). @internal */
export type SupervisorEnv = {
  parent: Ref<unknown>;
  scheduler: SchedulerLike;
  logger: Logger;
  launch(agent: Agent, id: string, options: AgentOptions, supervision: SupervisionHooks): Promise<AgentRef>;
};
/** @internal */
export type SupervisionHooks = {
  parent: Ref<unknown>;
  supervision: Supervision;
};

/** The supervisor's mailbox agent: hands replies to escalation mail to its supervisor. */
export class SupervisorMailAgent extends Agent {
  constructor(private readonly deliver: (m: Message) => void) {
    super();
  }
  override onMessage(message: Message) {
    this.deliver(message);
  }
  override onAck(mail: { message: Message }, _ctx: AgentContext) {
    this.deliver(mail.message);
  }
}

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { SchedulerLike, Subject, Subscription } from 'rxjs';
import type { ErrorInfo } from '../agents/agent-options.js';
import type { AgentRef } from '../agents/agent-ref.js';
import { DECISIONS, decisionOf, type EscalationDecision } from '../protocol/decision.js';
import { escalationMail } from '../protocol/outgoing.js';
import type { Message } from '../wire/model.js';
import type { UnansweredEscalation } from './supervision.js';

/** A failure the chain is asked about. */
export type EscalationCase = {
  child: string;
  error: ErrorInfo;
  /** The message whose handler failed, if a message did. */
  failed: Message | undefined;
  reason: UnansweredEscalation['reason'];
};

/** An escalation under way. */
type Pending = EscalationCase & {
  id: string;
  level: number;
  threadId: string | undefined;
  lastMessageId: string | undefined;
  timer: Subscription | undefined;
};

/** What the chain works with: the supervisor lends it its mail agent, its clock and its actor. */
export type ChainEnv = {
  supervisor: string;
  /** L0, L1, … and last a human. */
  chain: readonly string[];
  ackTimeoutMs: number;
  scheduler: SchedulerLike;
  logger: Logger;
  /** The supervisor's own mail agent (escalations come from its address). */
  mail: () => AgentRef | undefined;
  /** Runs `fn` inside the supervisor's actor (timeouts are serialised with everything else). */
  later: (fn: () => Promise<void>) => void;
  /** A level answered with a decision. */
  decided: (escalation: EscalationCase, decision: EscalationDecision) => Promise<void>;
  /** Nobody answered: past the last level, or no chain at all. */
  unanswered: Subject<UnansweredEscalation>;
};

/**
 * The escalation chain, walked by mail: level n gets `[ESCALATION Ln]`; if it does not answer within
 * `ackTimeoutMs`, level n+1 gets it in the same thread; a reply with a decision ends it. Apart from
 * the supervisor's restart discipline, which only hands it failures.
 */
export class EscalationChain {
  private readonly pending = new Map<string, Pending>();
  private readonly env: ChainEnv;

  constructor(env: ChainEnv) {
    this.env = env;
  }

  /** Starts walking the chain for one failure. */
  async escalate(escalation: EscalationCase): Promise<void> {
    const p: Pending = {
      ...escalation,
      id: randomUUID(),
      level: -1,
      threadId: undefined,
      lastMessageId: undefined,
      timer: undefined,
    };
    this.pending.set(p.id, p);
    await this.mailLevel(p, 0);
  }

  /** A reply in the thread of an escalation: a decision ends it; anything else stops that level's clock. */
  async onMail(message: Message): Promise<void> {
    const p = [...this.pending.values()].find((x) => x.threadId === message.thread_id);
    if (!p) return;
    p.timer?.unsubscribe();
    p.timer = undefined;
    const decision = decisionOf(message);
    if (!decision) return; // an ACK: the level has it; its decision may follow in the thread
    this.pending.delete(p.id);
    this.env.logger.info(
      { supervisor: this.env.supervisor, child: p.child, decision, from: message.from_address },
      'escalation decided',
    );
    await this.env.decided(p, decision);
  }

  /** Stops every level's clock (the supervisor stops). */
  stop(): void {
    for (const p of this.pending.values()) p.timer?.unsubscribe();
  }

  private async mailLevel(p: Pending, level: number): Promise<void> {
    const { chain } = this.env;
    const to = chain[level];
    const mail = this.env.mail();
    if (!to || !mail) {
      this.pending.delete(p.id);
      this.env.logger.error(
        { supervisor: this.env.supervisor, child: p.child, error: p.error, levels: chain.length },
        'escalation unanswered past the last level',
      );
      this.env.unanswered.next({
        supervisor: this.env.supervisor,
        child: p.child,
        error: p.error,
        levelsTried: level,
        reason: p.reason,
      });
      return;
    }
    p.level = level;
    const request = escalationMail(
      to,
      p.id,
      {
        type: p.error.type,
        message: p.error.message,
        level,
        from: level === 0 ? mail.address : `L${level - 1}`,
        context: {
          supervisor: this.env.supervisor,
          child: p.child,
          reason: p.reason,
          failed_message_id: p.failed?.message_id ?? null,
          failed_subject: p.failed?.subject ?? null,
          decisions: DECISIONS,
        },
      },
      p.lastMessageId,
    );
    const sent = await mail.sendRequest(request);
    p.threadId = sent.thread_id;
    p.lastMessageId = sent.message_id;
    p.timer = this.env.scheduler.schedule(
      () => this.env.later(() => this.onTimeout(p.id, level)),
      this.env.ackTimeoutMs,
    );
  }

  private async onTimeout(id: string, level: number): Promise<void> {
    const p = this.pending.get(id);
    if (!p?.timer || p.level !== level) return;
    this.env.logger.warn(
      { supervisor: this.env.supervisor, level },
      'escalation level did not answer in time; going on',
    );
    await this.mailLevel(p, level + 1);
  }
}

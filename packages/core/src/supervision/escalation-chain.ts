import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { SchedulerLike, Subject, Subscription } from 'rxjs';
import type { AgentActions } from '../agents/agent.js';
import { type ErrorInfo, errorInfo } from '../agents/agent-options.js';
import type { EscalationStep } from '../protocol/bodies.js';
import { decodeMessage, isDecodeFailure } from '../protocol/codec.js';
import { DECISIONS, decisionOf, type EscalationDecision } from '../protocol/decision.js';
import { escalatedErrorMail, escalationMail } from '../protocol/outgoing.js';
import type { Message, SendResult } from '../wire/model.js';
import type { UnansweredEscalation } from './supervision.js';

/** A failure the chain is asked about. */
export type EscalationCase = {
  child: string;
  error: ErrorInfo;
  /** The message whose handler failed, if a message did. */
  failed: Message | undefined;
  reason: UnansweredEscalation['reason'];
  /** More context for the levels (a standalone `escalate` passes the caller's). */
  context?: Record<string, unknown>;
};

/** An escalation under way. */
type Pending = EscalationCase & {
  id: string;
  level: number;
  threadId: string | undefined;
  lastMessageId: string | undefined;
  timer: Subscription | undefined;
  /** What each level did, in order (it goes back to the requester when nobody fixes the failure). */
  history: EscalationStep[];
};

/** What the chain works with: the supervisor lends it its mail agent, its clock and its actor. */
export type ChainEnv = {
  supervisor: string;
  /** L0, L1, … and last a human. */
  chain: readonly string[];
  ackTimeoutMs: number;
  /** How long a level that acknowledged (replied without a decision) has to decide. */
  decisionTimeoutMs: number;
  scheduler: SchedulerLike;
  logger: Logger;
  /** The supervisor's own mail agent (escalations come from its address). */
  mail: () => AgentActions | undefined;
  /** Runs `fn` inside the supervisor's actor (timeouts are serialised with everything else). */
  later: (fn: () => Promise<void>) => void;
  /** A level answered with a decision. */
  decided: (escalation: EscalationCase, decision: EscalationDecision, from: string) => Promise<void>;
  /** Nobody answered: past the last level, or no chain at all. */
  unanswered: Subject<UnansweredEscalation>;
};

/**
 * The escalation chain, walked by mail, never stalled: level n gets `[ESCALATION Ln]`; a level that
 * cannot be mailed is logged and skipped at once; one that does not answer within `ackTimeoutMs`,
 * or acknowledges (replies without a decision) and does not decide within `decisionTimeoutMs`, is
 * passed over for level n+1, in the same thread; a reply with a decision ends it. Past the last
 * level, or on `stop`, the requester of the failed task is answered with ERROR carrying the
 * escalation's history. Apart from the supervisor's restart discipline, which only hands it failures.
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
      history: [],
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
    const level = p.level;
    if (!decision) {
      // Acknowledged: the level has it; its decision must follow within the decision timeout.
      p.history.push(this.step(p, 'acknowledged'));
      p.timer = this.env.scheduler.schedule(
        () => this.env.later(() => this.onTimeout(p.id, level, 'undecided')),
        this.env.decisionTimeoutMs,
      );
      return;
    }
    this.pending.delete(p.id);
    p.history.push({ ...this.step(p, 'decided'), decision });
    this.env.logger.info(
      { supervisor: this.env.supervisor, child: p.child, decision, from: message.from_address },
      'escalation decided',
    );
    if (decision === 'stop') await this.answerRequester(p, 'stopped');
    await this.env.decided(p, decision, message.from_address);
  }

  /** The threads of the escalations under way (where their levels answer). */
  threads(): string[] {
    return [...this.pending.values()].flatMap((p) => (p.threadId ? [p.threadId] : []));
  }

  /** Stops every level's clock (the supervisor stops). */
  stop(): void {
    for (const p of this.pending.values()) p.timer?.unsubscribe();
  }

  private step(p: Pending, outcome: EscalationStep['outcome']): EscalationStep {
    return { level: p.level, to: this.env.chain[p.level] ?? '', outcome, at: this.env.scheduler.now() };
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
      await this.answerRequester(p, 'unanswered');
      this.env.unanswered.next({
        supervisor: this.env.supervisor,
        child: p.child,
        error: p.error,
        levelsTried: level,
        reason: p.reason,
        history: p.history,
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
          ...p.context,
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
    let sent: SendResult;
    try {
      sent = await mail.sendRequest(request);
    } catch (err) {
      // A level that cannot be mailed never holds the chain up: the next one is asked at once.
      this.env.logger.error(
        { supervisor: this.env.supervisor, level, to, err },
        'escalation level cannot be mailed; skipped',
      );
      p.history.push({ ...this.step(p, 'unmailable'), error: errorInfo(err).message });
      return this.mailLevel(p, level + 1);
    }
    p.threadId = sent.thread_id;
    p.lastMessageId = sent.message_id;
    p.timer = this.env.scheduler.schedule(
      () => this.env.later(() => this.onTimeout(p.id, level, 'no_answer')),
      this.env.ackTimeoutMs,
    );
  }

  private async onTimeout(id: string, level: number, outcome: 'no_answer' | 'undecided'): Promise<void> {
    const p = this.pending.get(id);
    if (!p?.timer || p.level !== level) return;
    p.timer = undefined;
    p.history.push(this.step(p, outcome));
    this.env.logger.warn(
      { supervisor: this.env.supervisor, level, outcome },
      outcome === 'no_answer'
        ? 'escalation level did not answer in time; going on'
        : 'escalation level acknowledged but did not decide in time; going on',
    );
    await this.mailLevel(p, level + 1);
  }

  /**
   * Nobody fixes the failure (past the last level, or `stop`): the requester of the failed task
   * gets ERROR `Escalated` with the escalation's history, from the supervisor's address.
   */
  private async answerRequester(p: Pending, outcome: 'unanswered' | 'stopped'): Promise<void> {
    const mail = this.env.mail();
    const failed = p.failed ? decodeMessage(p.failed) : undefined;
    if (!mail || !p.failed || !failed || isDecodeFailure(failed) || failed.kind !== 'task') return;
    const answer = escalatedErrorMail({ message: p.failed, callback: failed.body.callback }, failed.taskId, {
      type: 'Escalated',
      message: `${p.error.type}: ${p.error.message} (escalation ${outcome === 'stopped' ? 'decided stop' : 'unanswered past the last level'})`,
      escalation: p.history,
    });
    try {
      await mail.sendRequest(answer);
    } catch (err) {
      this.env.logger.error(
        { supervisor: this.env.supervisor, task_id: failed.taskId, err },
        'could not answer the requester of an escalated task',
      );
    }
  }
}

import { dispatch, type Ref, spawn, stop as stopActor } from 'nact';
import { type Observable, Subject } from 'rxjs';
import type { Agent } from '../agents/agent.js';
import { type ChildFailure, errorInfo } from '../agents/agent-options.js';
import type { AgentRef } from '../agents/agent-ref.js';
import type { EscalationDecision } from '../protocol/decision.js';
import type { Message } from '../wire/model.js';
import { type EscalationCase, EscalationChain } from './escalation-chain.js';
import {
  type ChildSpec,
  type NestedSpec,
  type RestartType,
  type SupervisorEnv,
  SupervisorMailAgent,
  type SupervisorOptions,
  type UnansweredEscalation,
} from './supervision.js';

/** What the parent of a nested supervisor hears. */
type ParentLink = { failed(child: Supervisor, error: unknown): void };

type Event =
  | { type: 'failure'; child: string; failure: ChildFailure }
  | { type: 'mail'; message: Message }
  | { type: 'restart'; children: string[]; fresh: boolean }
  | { type: 'run'; fn: () => Promise<void> };

type Child = {
  spec: ChildSpec | NestedSpec;
  /** Stops the running agent (the supervisor's own stop: no restart follows). */
  stop?: () => Promise<void>;
  ref: AgentRef | undefined;
  nested: Supervisor | undefined;
  agent: Agent | undefined;
  attempts: Map<string, number>;
  verdicts: Map<string, { type: string; message: string }>;
  stopped: boolean;
};

/**
 * A nact parent for a group of agents, with OTP's restart discipline (one-for-one, all-for-one,
 * rest-for-one; intensity; backoff; restart types) and an escalation chain walked by mail.
 */
export class Supervisor {
  readonly id: string;
  private readonly options: SupervisorOptions;
  private readonly env: SupervisorEnv;
  private readonly link: ParentLink | undefined;
  private readonly children = new Map<string, Child>();
  private readonly restarts: number[] = [];
  private readonly unanswered = new Subject<UnansweredEscalation>();
  private readonly chain: EscalationChain;
  private actor: Ref<Event> | undefined;
  private mail: AgentRef | undefined;
  private stopped = false;

  /** Failures that went past the last level, or had no chain. */
  readonly escalations$: Observable<UnansweredEscalation> = this.unanswered.asObservable();

  /** @internal */
  constructor(options: SupervisorOptions, env: SupervisorEnv, link?: ParentLink) {
    this.id = options.id;
    this.options = options;
    this.env = env;
    this.link = link;
    this.chain = new EscalationChain({
      supervisor: options.id,
      chain: options.escalation?.chain ?? [],
      ackTimeoutMs: options.escalation?.ackTimeoutMs ?? 60_000,
      decisionTimeoutMs: options.escalation?.decisionTimeoutMs ?? 5 * (options.escalation?.ackTimeoutMs ?? 60_000),
      scheduler: env.scheduler,
      logger: env.logger,
      mail: () => this.mail,
      later: (fn) => this.send({ type: 'run', fn }),
      decided: (escalation, decision) => this.decided(escalation, decision),
      unanswered: this.unanswered,
    });
  }

  /** The running agent of a child id (a new ref after each restart). */
  child(id: string): AgentRef | undefined {
    return this.children.get(id)?.ref;
  }

  /** The supervisor of a nested child id. */
  nested(id: string): Supervisor | undefined {
    return this.children.get(id)?.nested;
  }

  /** The address escalation mail comes from. */
  get address(): string | undefined {
    return this.mail?.address;
  }

  /** @internal Starts the supervisor's actor, its mail agent and its children. */
  async start(): Promise<void> {
    this.actor = spawn(
      this.env.parent as never,
      (_s: undefined, event: Event) => this.handle(event),
      `supervisor-${this.id}`,
      {
        onCrash: (_m, err, ctx) => {
          this.env.logger.error({ err, supervisor: this.id }, 'supervisor crashed; resuming');
          return ctx.resume;
        },
      },
    ) as Ref<Event>;
    this.mail = await this.env.launch(
      new SupervisorMailAgent((message) => this.send({ type: 'mail', message })),
      this.id,
      {},
      {
        parent: this.actor,
        supervision: { onFailure: () => {}, attempts: new Map(), verdicts: new Map() },
      },
    );
    for (const spec of this.options.children) {
      this.children.set(spec.id, {
        spec,
        ref: undefined,
        nested: undefined,
        agent: undefined,
        attempts: new Map(),
        verdicts: new Map(),
        stopped: true,
      });
      await this.startChild(spec.id, true);
    }
  }

  /** Stops every child, then the supervisor. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.chain.stop();
    for (const id of [...this.children.keys()].reverse()) await this.stopChild(id);
    await this.mail?.stop();
    if (this.actor) stopActor(this.actor);
    this.unanswered.complete();
  }

  private send(event: Event): void {
    if (this.actor && !this.stopped) dispatch(this.actor, event);
  }

  private async handle(event: Event): Promise<undefined> {
    switch (event.type) {
      case 'failure':
        await this.onFailure(event.child, event.failure.error, event.failure.message);
        break;
      case 'restart':
        for (const id of event.children) await this.startChild(id, event.fresh);
        break;
      case 'mail':
        await this.chain.onMail(event.message);
        break;
      case 'run':
        await event.fn();
        break;
    }
    return undefined;
  }

  private async startChild(id: string, fresh: boolean): Promise<void> {
    const c = this.children.get(id);
    if (!c?.stopped || this.stopped) return;
    if ('supervisor' in c.spec) {
      const nested = new Supervisor(
        c.spec.supervisor,
        { ...this.env, parent: this.actor as Ref<unknown> },
        {
          failed: (_child, error) =>
            this.send({ type: 'failure', child: id, failure: { error, message: undefined, attempt: 0 } }),
        },
      );
      c.nested = nested;
      await nested.start();
    } else {
      const spec = c.spec;
      if (fresh || !c.agent) c.agent = spec.make();
      const ref = await this.env.launch(c.agent, spec.id, spec.options ?? {}, {
        parent: this.actor as Ref<unknown>,
        supervision: {
          attempts: c.attempts,
          verdicts: c.verdicts,
          onFailure: (failure) => this.send({ type: 'failure', child: id, failure }),
        },
      });
      // A stop that does not come from the supervisor is a normal exit: a permanent child is
      // restarted all the same; a transient or temporary one stays stopped.
      const stopRef = ref.stop.bind(ref);
      c.ref = Object.assign(Object.create(ref) as AgentRef, {
        stop: async () => {
          if (c.stopped) return stopRef();
          c.stopped = true;
          await stopRef();
          if ((spec.restart ?? 'permanent') === 'permanent' && !this.stopped) {
            this.send({
              type: 'failure',
              child: id,
              failure: { error: new Error('exited'), message: undefined, attempt: 0 },
            });
          }
        },
      });
      c.stop = stopRef;
    }
    c.stopped = false;
  }

  private async stopChild(id: string): Promise<void> {
    const c = this.children.get(id);
    if (!c || c.stopped) return;
    c.stopped = true;
    if (c.nested) await c.nested.stop();
    else await c.stop?.();
  }

  private async onFailure(childId: string, error: unknown, failed: Message | undefined): Promise<void> {
    const c = this.children.get(childId);
    const exited = failed === undefined && c?.stopped === true && !('supervisor' in (c?.spec ?? {}));
    if (!c || (c.stopped && !exited) || this.stopped) return;
    if (this.options.escalateWhen?.(error)) {
      await this.stopChild(childId);
      return this.escalate(childId, error, failed, 'escalateWhen');
    }
    const type: RestartType = 'supervisor' in c.spec ? 'permanent' : (c.spec.restart ?? 'permanent');
    if (type === 'temporary') {
      await this.stopChild(childId);
      this.children.delete(childId);
      return;
    }
    const now = this.env.scheduler.now();
    const within = this.options.withinMs ?? 60_000;
    while (this.restarts.length > 0 && (this.restarts[0] as number) <= now - within) this.restarts.shift();
    if (this.restarts.length >= (this.options.maxRestarts ?? 3)) {
      // Past its intensity: the group stops, and the failure goes up.
      for (const id of this.group(childId)) await this.stopChild(id);
      if (this.options.escalation) return this.escalate(childId, error, failed, 'intensity');
      if (this.link) return this.link.failed(this, error);
      this.env.logger.error(
        { supervisor: this.id, child: childId, err: error },
        'restart intensity exceeded; no escalation chain',
      );
      this.unanswered.next({
        supervisor: this.id,
        child: childId,
        error: errorInfo(error),
        levelsTried: 0,
        history: [],
        reason: 'intensity',
      });
      return;
    }
    this.restarts.push(now);
    const group = this.group(childId);
    for (const id of group) await this.stopChild(id);
    const delay = this.backoff(this.restarts.length);
    this.env.logger.warn({ supervisor: this.id, children: group, delayMs: delay, err: error }, 'restarting');
    this.env.scheduler.schedule(() => this.send({ type: 'restart', children: group, fresh: true }), delay);
  }

  /** The children a strategy restarts when `childId` fails. */
  private group(childId: string): string[] {
    const ids = [...this.children.keys()];
    switch (this.options.strategy ?? 'one-for-one') {
      case 'all-for-one':
        return ids;
      case 'rest-for-one':
        return ids.slice(ids.indexOf(childId));
      default:
        return [childId];
    }
  }

  private backoff(n: number): number {
    const b = this.options.backoff ?? {};
    const min = b.minBackoffMs ?? 100;
    const max = b.maxBackoffMs ?? 10_000;
    const base = Math.min(max, min * 2 ** Math.max(0, n - 1));
    const r = (this.options.random ?? Math.random)();
    return Math.round(base * (1 + (b.randomFactor ?? 0) * (2 * r - 1)));
  }

  private escalate(
    child: string,
    error: unknown,
    failed: Message | undefined,
    reason: EscalationCase['reason'],
  ): Promise<void> {
    return this.chain.escalate({ child, error: errorInfo(error), failed, reason });
  }

  /** A level decided: the restart discipline carries it out. */
  private async decided(p: EscalationCase, decision: EscalationDecision): Promise<void> {
    const c = this.children.get(p.child);
    if (!c) return;
    this.restarts.length = 0;
    switch (decision) {
      case 'stop':
        return;
      case 'skip':
        // The failed message is answered by the restarted child's own delivery (ERROR through its
        // own SendScheduler, then marked read), never run again: one way for every answer.
        if (p.failed) {
          c.verdicts.set(p.failed.message_id, {
            type: 'Skipped',
            message: `skipped after escalation: ${p.error.message}`,
          });
        }
        return this.startGroup(p.child, false);
      case 'retry':
        c.attempts.clear();
        return this.startGroup(p.child, false);
      case 'restart':
        c.attempts.clear();
        return this.startGroup(p.child, true);
    }
  }

  private async startGroup(childId: string, fresh: boolean): Promise<void> {
    const group = this.group(childId).filter((id) => this.children.get(id)?.stopped);
    for (const id of group.length > 0 ? group : [childId]) await this.startChild(id, fresh);
  }
}

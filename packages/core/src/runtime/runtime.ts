import { start, stop as stopActor } from 'nact';
import { type Logger, pino } from 'pino';
import { type Observable, type SchedulerLike, Subject } from 'rxjs';
import { z } from 'zod';
import type { Agent, AskOptions, DelegateOptions, TaskSpec } from '../agents/agent.js';
import { AgentHost } from '../agents/agent-host.js';
import { type AgentOptions, checkAgentOptions, type DeadLetter } from '../agents/agent-options.js';
import type { AgentRef } from '../agents/agent-ref.js';
import { ConflictError, StoppedError, ValidationError } from '../errors.js';
import { LocalMailbox } from '../mailbox/local-mailbox.js';
import type { Mailbox } from '../mailbox/mailbox.js';
import type { PostOffice } from '../mailbox/post-office-contract.js';
import type { TaskContract, TaskInput } from '../protocol/task-contract.js';
import { checkSupervisorOptions, type SupervisionHooks, type SupervisorOptions } from '../supervision/supervision.js';
import { Supervisor } from '../supervision/supervisor.js';
import { immediateScheduler, SharedTimer } from '../time/scheduling.js';
import { tracingProblem } from '../tracing/otel.js';
import { checkOptions } from '../wire/parse.js';
import { sendSchedulerFor } from './send-scheduler-for.js';

/** Options of {@link createRuntime}. Give a `postOffice` (embedded) or a `mailboxFactory` (e.g. HTTP). */
export type RuntimeOptions = {
  /** Agents spawned by id get a LocalMailbox here (registered on first use). */
  postOffice?: PostOffice;
  /** Makes the mailbox of an agent id (for example an HttpMailbox). Takes precedence over `postOffice`. */
  mailboxFactory?: (agentId: string) => Mailbox | Promise<Mailbox>;
  /** Where everything is logged. @default a silent pino logger */
  logger?: Logger;
  /** Time source of every delay (polling, timeouts). @default setImmediate/setTimeout */
  scheduler?: SchedulerLike;
  /** Aborting it stops the runtime. */
  signal?: AbortSignal;
  /** How long `stop()` lets handlers in progress finish. @default 10000 */
  stopTimeoutMs?: number;
  /** Defaults for every agent's options. */
  agentDefaults?: AgentOptions;
};

const RuntimeOptionsSchema = z
  .object({
    stopTimeoutMs: z.number().finite().nonnegative().optional(),
    mailboxFactory: z.function().optional(),
    postOffice: z.object({}).loose().optional(),
  })
  .loose();

/** Options of {@link Runtime.spawn}. */
export type SpawnOptions = AgentOptions & {
  /** The agent id (`<id>@<domain>`); needed unless `mailbox` is given. */
  id?: string;
  /** Use this mailbox instead of making one. */
  mailbox?: Mailbox;
};

/** One nact system, its agents, and their shared clock. */
export interface Runtime {
  readonly logger: Logger;
  readonly scheduler: SchedulerLike;
  /** Messages that could not be handled, from every agent. */
  readonly deadLetters$: Observable<DeadLetter>;
  /** The agents running now. */
  readonly agents: readonly AgentRef[];
  /** Starts an agent. */
  spawn(agent: Agent, options: SpawnOptions): Promise<AgentRef>;
  /** Starts a supervisor and its children (see `SupervisorOptions`). */
  supervise(options: SupervisorOptions): Promise<Supervisor>;
  /**
   * Graceful stop: stops polling, lets handlers in progress finish within `stopTimeoutMs` (then
   * aborts their signal), stops the actors. Mail not marked read stays unread for next time.
   */
  stop(): Promise<void>;
}

/** An AgentRef: the agent's actions, on the prototype (ten thousand agents, one set of methods). */
class RunningAgent implements AgentRef {
  constructor(
    readonly agent: Agent,
    private readonly host: AgentHost,
    private readonly stopper: (self: AgentRef) => Promise<void>,
  ) {}
  get address() {
    return this.host.actions.address;
  }
  get mailbox() {
    return this.host.actions.mailbox;
  }
  get tasks() {
    return this.host.actions.tasks;
  }
  get scheduler() {
    return this.host.actions.scheduler;
  }
  get sendScheduler() {
    return this.host.actions.sendScheduler;
  }
  sendRequest(...args: Parameters<AgentRef['sendRequest']>) {
    return this.host.actions.sendRequest(...args);
  }
  send(...args: Parameters<AgentRef['send']>) {
    return this.host.actions.send(...args);
  }
  delegate(to: string, task: TaskSpec, options?: DelegateOptions) {
    return this.host.actions.delegate(to, task, options);
  }
  collect(...args: Parameters<AgentRef['collect']>) {
    return this.host.actions.collect(...args);
  }
  ask<C extends TaskContract>(to: string, contract: C, input: TaskInput<C>, options: AskOptions) {
    return this.host.actions.ask(to, contract, input, options);
  }
  thread(threadId: string) {
    return this.host.actions.thread(threadId);
  }
  audit(threadId: string) {
    return this.host.actions.audit(threadId);
  }
  cancel(taskId: string, reason?: string) {
    return this.host.actions.cancel(taskId, reason);
  }
  stop(): Promise<void> {
    return this.stopper(this);
  }
}

/** Creates a runtime. Runtimes share nothing: two in one process never see each other. */
export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const logger = options.logger ?? pino({ level: 'silent' });
  const scheduler = options.scheduler ?? immediateScheduler;
  const timer = new SharedTimer(scheduler);
  const system = start();
  const deadLetters = new Subject<DeadLetter>();
  const hosts = new Map<AgentRef, () => Promise<void>>();
  /** The addresses consumed by an agent of this runtime: one consumer per address. */
  const consumed = new Set<string>();
  checkOptions('runtime options', RuntimeOptionsSchema, options);
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  // @opentelemetry/api is an optional peer: absent, tracing is off and nothing is said.
  const traceErr = tracingProblem();
  if (traceErr !== undefined) logger.warn({ err: traceErr }, '@opentelemetry/api failed to load; tracing is off');
  let stopped: Promise<void> | undefined;
  const supervisors = new Set<Supervisor>();
  let seq = 0;

  const mailboxFor = async (spawnOptions: SpawnOptions): Promise<Mailbox> => {
    if (spawnOptions.mailbox) return spawnOptions.mailbox;
    const id = spawnOptions.id;
    if (!id) throw ValidationError.single(['id'], 'spawn needs an agent id or a mailbox');
    if (options.mailboxFactory) return options.mailboxFactory(id);
    const po = options.postOffice;
    if (!po) throw ValidationError.single(['postOffice'], 'the runtime has neither a postOffice nor a mailboxFactory');
    const address = `${id}@${po.domain}`;
    let registered: string | undefined;
    try {
      registered = (await po.register({ agent_id: id })).email_address;
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
    // The office's own string when it is the same address: its lookups by address then find their
    // key by identity, not by comparing characters (every send looks up its sender and recipients).
    return new LocalMailbox(po, registered === address ? registered : address);
  };

  const runtime: Runtime = {
    logger,
    scheduler,
    deadLetters$: deadLetters.asObservable(),
    get agents() {
      return [...hosts.keys()];
    },
    spawn: (agent, spawnOptions) => launch(agent, spawnOptions),
    async supervise(supervisorOptions) {
      if (stopped) throw new StoppedError('the runtime is stopped');
      checkSupervisorOptions(supervisorOptions);
      const supervisor = new Supervisor(supervisorOptions, {
        parent: system,
        scheduler,
        logger,
        launch: (agent, id, agentOptions, hooks) => launch(agent, { ...agentOptions, id }, hooks),
      });
      supervisors.add(supervisor);
      await supervisor.start();
      return supervisor;
    },
    stop() {
      stopped ??= (async () => {
        await Promise.all([...supervisors].map((s) => s.stop()));
        await Promise.all([...hosts.values()].map((stopHost) => stopHost()));
        hosts.clear();
        stopActor(system);
        deadLetters.complete();
        logger.debug('runtime stopped');
      })();
      return stopped;
    },
  };

  async function launch(agent: Agent, spawnOptions: SpawnOptions, hooks?: SupervisionHooks): Promise<AgentRef> {
    if (stopped) throw new StoppedError('the runtime is stopped');
    const { id: _id, mailbox: _mb, ...agentOptions } = spawnOptions;
    const merged = checkAgentOptions({ ...options.agentDefaults, ...agent.spawnDefaults(), ...agentOptions });
    const mailbox = await mailboxFor(spawnOptions);
    // Two consumers of one address would each run every message: the second spawn is refused.
    if (consumed.has(mailbox.address)) {
      throw new ConflictError(`${mailbox.address} is already consumed by an agent of this runtime; stop it first`);
    }
    consumed.add(mailbox.address);
    const sender = sendSchedulerFor(merged.sendScheduler, mailbox, { scheduler, logger });
    const host = new AgentHost(
      agent,
      mailbox,
      {
        system: hooks?.parent ?? system,
        logger,
        scheduler,
        timer,
        deadLetters,
        name: `agent-${++seq}`,
        ...(hooks ? { supervision: hooks.supervision } : {}),
      },
      merged,
      sender.scheduler,
    );
    const stopHost = async () => {
      try {
        await host.stop(stopTimeoutMs);
        sender.stop();
      } finally {
        consumed.delete(mailbox.address);
      }
    };
    const ref: AgentRef = new RunningAgent(agent, host, async (self) => {
      hosts.delete(self);
      await stopHost();
    });
    hosts.set(ref, stopHost);
    host.start();
    logger.debug({ agent: ref.address }, 'agent spawned');
    return ref;
  }
  if (options.signal) {
    if (options.signal.aborted) void runtime.stop();
    else options.signal.addEventListener('abort', () => void runtime.stop(), { once: true });
  }
  return runtime;
}

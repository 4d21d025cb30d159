import type { Logger } from 'pino';
import type { Subscription } from 'rxjs';
import { z } from 'zod';
import type { AgentActions, Task, TaskSpec } from '../agents/agent.js';
import { newTaskId } from '../agents/agent-actions.js';
import { TaskFailedError, ValidationError, WithdrawnError } from '../errors.js';
import { TaskTimeoutError } from '../tasks/task-timeout-error.js';
import type { TaskOutcome } from '../tasks/types.js';
import { checkOptions } from '../wire/parse.js';
import { hubAndSpoke } from './patterns.js';

/** How a router picks routees. */
export type RouterStrategy =
  | 'broadcast'
  | 'round-robin'
  | 'random'
  | 'consistent-hash'
  | 'smallest-mailbox'
  | 'scatter-gather'
  | 'tail-chopping';

const RouterOptionsSchema = z
  .object({
    routees: z.array(z.string().min(1)),
    strategy: z.enum([
      'round-robin',
      'random',
      'broadcast',
      'consistent-hash',
      'smallest-mailbox',
      'scatter-gather',
      'tail-chopping',
    ]),
    timeoutMs: z.number().positive().optional(),
    intervalMs: z.number().nonnegative().optional(),
    virtualNodes: z.number().int().positive().optional(),
  })
  .loose();

/** Options of {@link createRouter}. */
export type RouterOptions = {
  /** Addresses, local or remote. */
  routees: readonly string[];
  strategy: RouterStrategy;
  /** consistent-hash: the key of a task. @default the thread of the task's message, else its name */
  key?: (task: TaskSpec, message?: Task['message']) => string;
  /** How long a routed task may take (every strategy). @default 30000 */
  timeoutMs?: number;
  /** tail-chopping: the wait before the next routee is tried. @default 1000 */
  intervalMs?: number;
  /** Random source of `random`. @default Math.random */
  random?: () => number;
  /** consistent-hash: points per routee on the ring. @default 100 */
  virtualNodes?: number;
  /**
   * smallest-mailbox: the unread mail of a routee, where the post office can tell (a routee's own
   * count, or an embedded office's `inbox(routee, { unread_only: true, limit: 1 }).unread_count`);
   * added to the tasks this agent has open with it. @default not counted
   */
  unread?: (routee: string) => number | Promise<number>;
  /** Where a failed `unread` count is logged. */
  logger?: Logger;
};

/** What routing a task gave: one outcome, or one per routee (broadcast). */
export type RouteResult =
  | { strategy: 'broadcast'; outcomes: TaskOutcome[] }
  | { strategy: Exclude<RouterStrategy, 'broadcast'>; outcome: TaskOutcome; routee: string };

/** A router: routes tasks to its routees by its strategy. Every send goes through the sender's SendScheduler. */
export interface Router {
  readonly strategy: RouterStrategy;
  readonly routees: readonly string[];
  /** The routee a single-target strategy picks next for this task (no send). */
  pick(actions: AgentActions, task: TaskSpec, message?: Task['message']): string;
  /** Sends the task by the strategy and waits for what answers. */
  route(actions: AgentActions, task: TaskSpec, message?: Task['message']): Promise<RouteResult>;
}

/** FNV-1a with murmur3's final mix, 32 bits: stable, fast, and spread evenly over the ring. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Delegates one task to every routee and collects every outcome with a deadline (the seed's
 * fan-out): {@link hubAndSpoke} with the same task for all, so the deadline covers sends that
 * wait for quota too.
 */
export function fanOut(
  actions: AgentActions,
  routees: readonly string[],
  task: TaskSpec,
  options: { timeoutMs: number },
): Promise<TaskOutcome[]> {
  const { taskId: _one, ...each } = task;
  return hubAndSpoke(
    actions,
    routees.map((to) => ({ to, task: each })),
    options,
  );
}

/** Creates a router over `routees`. */
export function createRouter(options: RouterOptions): Router {
  checkOptions('router options', RouterOptionsSchema, options);
  if (options.routees.length === 0) throw ValidationError.single(['routees'], 'a router needs at least one routee');
  const routees = [...options.routees];
  const timeoutMs = options.timeoutMs ?? 30_000;
  const random = options.random ?? Math.random;
  const vnodes = options.virtualNodes ?? 100;
  let next = 0;
  // The hash ring: built only for consistent-hash (100 000 points for 1 000 routees).
  const ring =
    options.strategy === 'consistent-hash'
      ? routees
          .flatMap((r) => Array.from({ length: vnodes }, (_, i) => ({ at: hash32(`${r}#${i}`), routee: r })))
          .sort((a, b) => a.at - b.at)
      : [];
  const keyOf = options.key ?? ((task: TaskSpec, message?: Task['message']) => message?.thread_id ?? task.name);

  const pick = (actions: AgentActions, task: TaskSpec, message?: Task['message']): string => {
    switch (options.strategy) {
      case 'random':
        return routees[Math.floor(random() * routees.length) % routees.length] as string;
      case 'consistent-hash': {
        const h = hash32(keyOf(task, message));
        let lo = 0;
        let hi = ring.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if ((ring[mid] as { at: number }).at < h) lo = mid + 1;
          else hi = mid;
        }
        return (ring[lo % ring.length] as { routee: string }).routee;
      }
      case 'smallest-mailbox':
        return smallest(actions, undefined);
      default: {
        const r = routees[next % routees.length] as string;
        next += 1;
        return r;
      }
    }
  };

  /**
   * The routee with the fewest tasks from this agent not answered yet — counted from the moment a
   * TASK is queued, so routes started together spread out — plus its unread mail when `unread`
   * tells. Ties go to the earliest routee.
   */
  const smallest = (actions: AgentActions, unread: readonly number[] | undefined): string => {
    let best = routees[0] as string;
    let least = Number.POSITIVE_INFINITY;
    routees.forEach((r, i) => {
      const load = actions.tasks.openTo(r) + (unread?.[i] ?? 0);
      if (load < least) {
        least = load;
        best = r;
      }
    });
    return best;
  };

  /** The unread mail of each routee, where the post office can tell (`unread`); 0 where it cannot. */
  const unreadCounts = async (): Promise<number[] | undefined> => {
    const count = options.unread;
    if (!count) return undefined;
    return Promise.all(
      routees.map(async (r) => {
        try {
          return await count(r);
        } catch (err) {
          options.logger?.warn({ err, routee: r }, 'could not count the unread mail of a routee; counting 0');
          return 0;
        }
      }),
    );
  };

  const single = async (actions: AgentActions, routee: string, task: TaskSpec): Promise<TaskOutcome> => {
    const { taskId } = await actions.delegate(routee, task);
    const [outcome] = await actions.collect([taskId], { timeoutMs });
    return outcome as TaskOutcome;
  };

  const race = async (actions: AgentActions, task: TaskSpec, chop: boolean): Promise<RouteResult> => {
    const { taskId: _one, ...each } = task;
    const taskIds = routees.map(() => newTaskId());
    const ours = new Set(taskIds);
    const sent: { taskId: string; routee: string }[] = [];
    const attempted: string[] = [];
    // Ends the race: stops the wait, and withdraws TASKs still queued for quota (never sent late).
    const stopped = new AbortController();
    let fail!: (err: unknown) => void;
    const failed = new Promise<never>((_, reject) => {
      fail = reject;
    });
    // Nothing is lost here: `failed` rejects only into the race below, whose result the caller gets;
    // this handler only keeps Node from calling that rejection unhandled before the race awaits it.
    failed.catch(() => undefined); // not swallowed: see above
    /** Sends to routee i; never rejects: a real failure fails the route, a withdrawal is the race ending. */
    const delegate = async (i: number): Promise<void> => {
      const taskId = taskIds[i] as string;
      const routee = routees[i] as string;
      attempted.push(taskId);
      try {
        await actions.delegate(routee, { ...each, taskId }, { signal: stopped.signal });
        sent.push({ taskId, routee });
      } catch (err) {
        if (!(err instanceof WithdrawnError)) fail(err);
      }
    };
    let tried = 0;
    let chopper: Subscription | undefined;
    const winner = actions.tasks.first({
      taskIds: () => sent.map((s) => s.taskId),
      has: (id) => ours.has(id),
      morePending: () => (chop && tried < routees.length) || sent.length < attempted.length,
      timeoutMs,
      scheduler: actions.scheduler,
      stopped: stopped.signal,
    });
    if (!chop) {
      tried = routees.length;
      for (let i = 0; i < routees.length; i++) void delegate(i);
    } else {
      const tryNext = async (): Promise<void> => {
        if (tried >= routees.length) return;
        const i = tried;
        tried += 1;
        await delegate(i);
        if (tried < routees.length)
          chopper = actions.scheduler.schedule(() => void tryNext(), options.intervalMs ?? 1000);
      };
      void tryNext();
    }
    try {
      const outcome = await Promise.race([winner, failed]);
      const routee = routees[taskIds.indexOf(outcome.taskId)] ?? '';
      return { strategy: chop ? 'tail-chopping' : 'scatter-gather', outcome, routee };
    } catch (err) {
      if (!(err instanceof TaskTimeoutError)) throw err;
      const sentIds = new Set(sent.map((t) => t.taskId));
      const unsent = attempted.filter((id) => !sentIds.has(id));
      throw new TaskTimeoutError([...sentIds, ...unsent], timeoutMs, { unsent });
    } finally {
      chopper?.unsubscribe();
      tried = routees.length;
      stopped.abort();
    }
  };

  return {
    strategy: options.strategy,
    routees,
    pick,
    async route(actions, task, message) {
      switch (options.strategy) {
        case 'broadcast':
          return { strategy: 'broadcast', outcomes: await fanOut(actions, routees, task, { timeoutMs }) };
        case 'scatter-gather':
          return race(actions, task, false);
        case 'tail-chopping':
          return race(actions, task, true);
        case 'smallest-mailbox': {
          // Counted, picked and queued in one turn: a concurrent route sees this one's TASK.
          const unread = await unreadCounts();
          const routee = smallest(actions, unread);
          return { strategy: 'smallest-mailbox', outcome: await single(actions, routee, task), routee };
        }
        default: {
          const routee = pick(actions, task, message);
          return { strategy: options.strategy, outcome: await single(actions, routee, task), routee };
        }
      }
    },
  };
}

/** The result a router agent answers with: the winner's result, every result (broadcast), or the failure. */
export function routeAnswer(result: RouteResult): unknown {
  if (result.strategy === 'broadcast') return result.outcomes.map((o) => (o.state === 'completed' ? o.result : o));
  const o = result.outcome;
  if (o.state === 'completed') return o.result;
  if (o.state === 'failed') throw new TaskFailedError(o.error.type, o.error.message);
  throw new TaskFailedError('Canceled', `the routee canceled task ${o.taskId}`);
}

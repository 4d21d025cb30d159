import { Agent, type AgentContext, type Task } from '../agents/agent.js';
import type { AgentOptions } from '../agents/agent-options.js';
import { createRouter, type Router, type RouterOptions, routeAnswer } from './routing.js';

/** A RouterAgent's default `concurrency`: tasks it routes at once. */
export const ROUTER_CONCURRENCY = 256;

/**
 * An agent that routes every TASK it receives to its routees by a strategy, and answers the
 * requester with what came back (the winner's result, or every result for broadcast). Its sends
 * go through a SendScheduler, so that its fan-out keeps to the account's quota.
 */
export class RouterAgent extends Agent {
  readonly router: Router;

  constructor(options: RouterOptions) {
    super();
    this.router = createRouter(options);
  }

  /**
   * Every send of a router goes through a SendScheduler of its account, unless the spawn gives
   * one; and a router routes many tasks at once (its handler only waits on its routees, who keep
   * their own limits), unless the spawn says otherwise.
   */
  override spawnDefaults(): Partial<AgentOptions> {
    return { sendScheduler: true, concurrency: ROUTER_CONCURRENCY };
  }

  override async onTask(task: Task, ctx: AgentContext): Promise<unknown> {
    const spec = {
      name: task.name,
      description: task.description,
      ...(task.input !== undefined ? { input: task.input } : {}),
      ...(task.deadline !== undefined ? { deadline: task.deadline } : {}),
    };
    return routeAnswer(await this.router.route(ctx, spec, task.message));
  }
}

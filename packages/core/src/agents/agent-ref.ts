import type { SendScheduler } from '../outbox/send-scheduler.js';
import type { Agent, AgentActions } from './agent.js';

/** A running agent, as the program that spawned it holds it. */
export interface AgentRef extends AgentActions {
  readonly agent: Agent;
  /** The SendScheduler every send of this agent goes through (spawn option `sendScheduler`), if any. */
  readonly sendScheduler: SendScheduler | undefined;
  /** Stops this agent alone (graceful). */
  stop(): Promise<void>;
}

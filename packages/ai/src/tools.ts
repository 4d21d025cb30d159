import { randomBytes } from 'node:crypto';
import type { AgentContext, Interception, TaskContract, ToolCall, ToolHook } from '@mailroom/core';
import { ForbiddenError } from '@mailroom/core';
import { type Tool, type ToolSet, tool } from 'ai';
import { z } from 'zod';
import { fromWire, type Usage } from './usage.js';

/** A peer agent the model may call as a tool: its task contract, sent over mail with `ask`. */
export type Peer = {
  /** The peer's address. */
  address: string;
  /** The peer's task contract: its name, description and input schema make the tool. */
  contract: TaskContract;
  /** How long to wait for the peer's answer. @default 300000 */
  timeoutMs?: number;
};

/** What a tool run needs of the task that runs it. */
export type ToolRun = {
  ctx: AgentContext;
  taskId: string;
  hooks: readonly ToolHook[];
  /** Hears what each delegation spent (its RESULT's or ERROR's `usage`). */
  spent: (usage: Usage) => void;
};

/** Runs the `beforeTool` hooks: the input to run the tool with, or `ForbiddenError` when one blocks. */
export async function approveTool(run: ToolRun, call: ToolCall): Promise<unknown> {
  let input = call.input;
  for (const hook of run.hooks) {
    const verdict: Interception<unknown> = await hook(
      { ...call, input },
      { agent: run.ctx.address, taskId: run.taskId },
    );
    if (verdict === undefined) continue;
    if ('block' in verdict) {
      run.ctx.log.info({ tool: call.tool, tool_call_id: call.toolCallId }, 'a beforeTool hook blocked a tool call');
      throw new ForbiddenError(`tool ${call.tool} was blocked: ${verdict.block}`);
    }
    input = verdict.change;
  }
  return input;
}

/** A local tool behind the `beforeTool` hooks. */
function guarded(name: string, t: Tool, run: ToolRun): Tool {
  const execute = t.execute;
  if (!execute) return t;
  return {
    ...t,
    execute: async (input: unknown, options: Parameters<typeof execute>[1]) => {
      const approved = await approveTool(run, { tool: name, toolCallId: options.toolCallId, input });
      return execute(approved, options);
    },
  } as Tool;
}

/** A task id for a delegation (the tool call's, so its usage can be found when it answers). */
const delegationId = () => `t-${randomBytes(8).toString('hex')}`;

/**
 * A peer's contract as a tool: the model's call is an `ask` over mail to the peer, in the thread
 * of the task being answered, aborted with it; the peer's RESULT is the tool's result.
 */
function peerTool(peer: Peer, run: ToolRun): Tool {
  const { contract } = peer;
  return tool({
    description: contract.description,
    inputSchema: contract.input as never,
    execute: async (input: unknown, options: { toolCallId: string; abortSignal?: AbortSignal }) => {
      const approved = await approveTool(run, { tool: contract.name, toolCallId: options.toolCallId, input });
      const taskId = delegationId();
      try {
        return await run.ctx.ask(peer.address, contract, approved, {
          timeoutMs: peer.timeoutMs ?? 300_000,
          taskId,
          inReplyTo: run.ctx.message.message_id,
          signal: options.abortSignal ?? run.ctx.signal,
        });
      } finally {
        const usage = run.ctx.tasks.get(taskId, 'sent')?.usage;
        if (usage) run.spent(fromWire(usage));
      }
    },
  });
}

/** The tool that asks the task's requester a question and resolves with the answer's text. */
function askRequester(run: ToolRun, timeoutMs: number): Tool {
  return tool({
    description:
      'Ask the one who gave you this task a question, when you cannot go on without their answer. Returns their answer.',
    inputSchema: z.object({ question: z.string().min(1) }),
    execute: async (input: { question: string }, options: { toolCallId: string }) => {
      const approved = (await approveTool(run, { tool: ASK_REQUESTER, toolCallId: options.toolCallId, input })) as {
        question: string;
      };
      const answer = await run.ctx.inputRequired(approved.question, { timeoutMs });
      return answer.body_text ?? '';
    },
  });
}

/** A contract's name as a tool's (providers take `[A-Za-z0-9_-]{1,64}`). */
export const toolName = (name: string): string => name.replaceAll(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);

/** The name of the tool that asks the requester (with `inputRequired`). */
export const ASK_REQUESTER = 'ask_requester';

/** The model's tools for one task: the local ones behind the hooks, one per peer, and `ask_requester`. */
export function toolsFor(
  local: ToolSet,
  peers: readonly Peer[],
  run: ToolRun,
  inputRequired?: { timeoutMs?: number },
): ToolSet {
  const tools: ToolSet = {};
  if (inputRequired) tools[ASK_REQUESTER] = askRequester(run, inputRequired.timeoutMs ?? 24 * 3600_000);
  for (const [name, t] of Object.entries(local)) tools[name] = guarded(name, t as Tool, run);
  for (const peer of peers) tools[toolName(peer.contract.name)] = peerTool(peer, run);
  return tools;
}

import {
  Agent,
  type AgentContext,
  parseSubject,
  type SendRequest,
  type Task,
  type TaskContract,
  TaskFailedError,
  type ToolHook,
  ValidationError,
} from '@mailroom/core';
import { APICallError, isStepCount, type LanguageModel, type ModelMessage, streamText, type ToolSet } from 'ai';
import { type Observable, Subject } from 'rxjs';
import { z } from 'zod';
import { taskPrompt, threadMemory } from './memory.js';
import { CoalescedStatus, type ProgressEvent } from './progress.js';
import { type ProviderRetry, ProviderRetrySchema, retryingModel } from './provider-retry.js';
import { type Peer, toolsFor } from './tools.js';
import {
  addUsage,
  type Budget,
  BudgetSchema,
  overBudget,
  type Price,
  PriceSchema,
  toWire,
  type Usage,
  usageOf,
  ZERO,
} from './usage.js';

/** Options of a model-backed agent. */
export type ModelAgentOptions<C extends TaskContract> = {
  /** The task it answers: the input the model gets, the output its answer must pass. */
  contract: C;
  /** Any AI SDK language model (`openai('gpt-…')`, `anthropic('claude-…')`, a mock). */
  model: Exclude<LanguageModel, string>;
  /** The system prompt. */
  instructions: string;
  /** Local tools (AI SDK `tool(...)`). @default none */
  tools?: ToolSet;
  /** Other agents the model may call as tools (a TASK over mail each). @default none */
  peers?: readonly Peer[];
  /** Model calls per task at most (steps of the tool loop). @default 8 */
  maxSteps?: number;
  /** Tokens of the thread's earlier exchange the model is given; 0 for none. @default 4000 */
  memoryTokens?: number;
  /** The least time between two STATUS mails of one task. @default 10000 */
  statusIntervalMs?: number;
  /** Prices by model id, for `costUsd`. @default none (tokens only) */
  prices?: Readonly<Record<string, Price>>;
  /** What one task may spend, its delegations included. @default no limit */
  budget?: Budget;
  /** Retries of a model call on 429, 5xx and timeouts. @default `{ maxAttempts: 4, initialDelayMs: 1000, maxDelayMs: 60000 }` */
  retry?: ProviderRetry;
  /**
   * Lets the model ask the task's requester a question and wait for the answer (a tool
   * `ask_requester`; the task is `input-required` meanwhile). @default off
   */
  inputRequired?: { timeoutMs?: number };
  /** Run before each tool (local or peer) with its input: approve, change or block it. @default none */
  beforeTool?: ToolHook | readonly ToolHook[];
};

const Options = z.object({
  contract: z.object({ name: z.string(), jsonSchema: z.function() }).loose(),
  model: z.object({ modelId: z.string() }).loose(),
  instructions: z.string(),
  tools: z.record(z.string(), z.unknown()).optional(),
  peers: z
    .array(
      z.object({
        address: z.string().min(1),
        contract: z.unknown(),
        timeoutMs: z.number().int().positive().optional(),
      }),
    )
    .optional(),
  maxSteps: z.number().int().min(1).max(1000).optional(),
  memoryTokens: z.number().int().min(0).optional(),
  statusIntervalMs: z.number().int().min(0).optional(),
  prices: z.record(z.string(), PriceSchema).optional(),
  budget: BudgetSchema.optional(),
  retry: ProviderRetrySchema.optional(),
  beforeTool: z.union([z.function(), z.array(z.function())]).optional(),
  inputRequired: z.object({ timeoutMs: z.number().int().positive().optional() }).optional(),
});

/** The model's last text as the contract's output: text for a string output, else JSON. */
function outputOf(contract: TaskContract, text: string): unknown {
  if (contract.output instanceof z.ZodString) return text;
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text);
  try {
    return JSON.parse((fenced?.[1] ?? text).trim());
  } catch {
    throw new TaskFailedError('InvalidOutput', `${contract.name}: the model's answer is not JSON`);
  }
}

/**
 * A model call that failed for good (its retries spent, or not worth one) ends the task with ERROR
 * `ModelCallFailed` at once: running the handler again would repeat its delegations. The message
 * names the status, never the provider's response body.
 */
function modelFailure(err: unknown): unknown {
  if (!APICallError.isInstance(err)) return err;
  const status = err.statusCode === undefined ? '' : ` (HTTP ${err.statusCode})`;
  return new TaskFailedError('ModelCallFailed', `the model call failed${status}`, { cause: err });
}

/**
 * An agent whose answers are a model's: a task of its contract runs the model's tool loop (at most
 * `maxSteps` calls) with its instructions, its tools and its peers as tools, the thread's earlier
 * exchange as memory; the answer is checked against the contract's output. Its RESULT and ERROR
 * carry the task's `usage`; `progress` streams what it does.
 */
export class ModelAgent<C extends TaskContract = TaskContract> extends Agent {
  private readonly options: ModelAgentOptions<C>;
  private readonly events = new Subject<ProgressEvent>();
  /** What each finished task spent, until its RESULT or ERROR carries it. */
  private readonly spent = new Map<string, Usage>();
  /** Text deltas, tool calls, steps and usage of every task, as they happen. */
  readonly progress: Observable<ProgressEvent> = this.events.asObservable();

  constructor(options: ModelAgentOptions<C>) {
    super();
    const checked = Options.safeParse(options);
    if (!checked.success) throw ValidationError.fromZod('model agent options', checked.error);
    this.options = options;
    this.handle(options.contract, (input, ctx, task) => this.answer(input, ctx, task) as never);
  }

  /** What `task` (an id this agent answered) spent, until its answer went out. */
  usageOf(taskId: string): Usage | undefined {
    return this.spent.get(taskId);
  }

  /** Keeps what a task spent for its answer (summed over the handler's attempts), at most 10 000 tasks. */
  private record(taskId: string, usage: Usage): void {
    const before = this.spent.get(taskId);
    this.spent.set(taskId, before ? addUsage(before, usage) : usage);
    if (this.spent.size > 10_000) this.spent.delete(this.spent.keys().next().value as string);
  }

  /** Puts what a task spent in its RESULT or ERROR. */
  override interceptSend(mail: SendRequest): { change: SendRequest } | undefined {
    const subject = parseSubject(mail.subject);
    if (subject instanceof Error || (subject.kind !== 'result' && subject.kind !== 'error')) return undefined;
    const usage = this.spent.get(subject.taskId);
    if (!usage || !mail.body_text) return undefined;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(mail.body_text) as Record<string, unknown>;
    } catch {
      return undefined; // not protocol mail (its builders write JSON): it goes out as it is
    }
    this.spent.delete(subject.taskId);
    return { change: { ...mail, body_text: JSON.stringify({ ...body, usage: toWire(usage) }) } };
  }

  private async answer(input: unknown, ctx: AgentContext, task: Task): Promise<unknown> {
    const o = this.options;
    const price = o.prices?.[o.model.modelId];
    let usage: Usage = price ? { ...ZERO, costUsd: 0 } : ZERO;
    let over: string | undefined;
    const stop = new AbortController();
    const spend = (u: Usage) => {
      usage = addUsage(usage, u);
      over ??= overBudget(usage, o.budget);
      if (over) stop.abort(new TaskFailedError('BudgetExceeded', over));
    };
    const emit = (e: ProgressEvent) => this.events.next(e);
    const status = new CoalescedStatus(
      ctx.scheduler,
      o.statusIntervalMs ?? 10_000,
      (note) => ctx.status('working', { note }),
      ctx.log,
    );
    const hooks = o.beforeTool === undefined ? [] : Array.isArray(o.beforeTool) ? o.beforeTool : [o.beforeTool];
    const run = { ctx, taskId: task.id, hooks: hooks as ToolHook[], spent: spend };
    const tools = toolsFor(o.tools ?? {}, o.peers ?? [], run, o.inputRequired);
    const memory = o.memoryTokens === 0 ? [] : await this.memory(ctx, o.memoryTokens ?? 4000);
    const messages: ModelMessage[] = [
      ...memory,
      { role: 'user', content: taskPrompt(task.name, task.description, input) },
    ];
    const schema =
      o.contract.output instanceof z.ZodString ? undefined : JSON.stringify(o.contract.jsonSchema().output);
    let step = 0;
    let failure: unknown;
    try {
      const result = streamText({
        model: retryingModel(o.model, o.retry ?? {}, ctx.scheduler, () => ctx.log),
        system: schema ? `${o.instructions}\n\nAnswer with JSON only, by this JSON Schema:\n${schema}` : o.instructions,
        messages,
        tools,
        // Past the budget, no next step (a step's usage is known once it ended).
        stopWhen: [isStepCount(o.maxSteps ?? 8), () => over !== undefined],
        abortSignal: AbortSignal.any([ctx.signal, stop.signal]),
        maxRetries: 0,
        onError: ({ error }) => {
          failure ??= error;
        },
        onStepFinish: (s) => {
          step++;
          spend(usageOf(s.usage, price));
          emit({ type: 'step', taskId: task.id, step, usage });
          const calls = s.toolCalls.map((c) => c.toolName);
          status.report(calls.length > 0 ? `step ${step}: called ${calls.join(', ')}` : `step ${step}: answering`);
        },
      });
      for await (const part of result.fullStream) {
        if (part.type === 'text-delta') emit({ type: 'text', taskId: task.id, delta: part.text });
        else if (part.type === 'tool-call') {
          emit({
            type: 'tool-call',
            taskId: task.id,
            tool: part.toolName,
            toolCallId: part.toolCallId,
            input: part.input,
          });
        } else if (part.type === 'tool-result' || part.type === 'tool-error') {
          emit({
            type: 'tool-result',
            taskId: task.id,
            tool: part.toolName,
            toolCallId: part.toolCallId,
            ok: part.type === 'tool-result',
          });
        } else if (part.type === 'error') failure ??= part.error;
      }
      if (over !== undefined) throw new TaskFailedError('BudgetExceeded', over);
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (failure !== undefined) throw modelFailure(failure);
      const output = outputOf(o.contract, await result.text);
      this.record(task.id, usage);
      emit({ type: 'finish', taskId: task.id, usage, ok: true });
      return output;
    } catch (err) {
      // A canceled task sends no answer to carry its usage.
      if (!ctx.signal.aborted) this.record(task.id, usage);
      emit({ type: 'finish', taskId: task.id, usage, ok: false });
      throw err;
    } finally {
      status.close();
    }
  }

  /** The thread's earlier exchange with this agent, within `maxTokens`. */
  private async memory(ctx: AgentContext, maxTokens: number): Promise<ModelMessage[]> {
    const thread = await ctx.thread(ctx.message.thread_id);
    return threadMemory(thread, ctx.address, ctx.message.message_id, maxTokens);
  }
}

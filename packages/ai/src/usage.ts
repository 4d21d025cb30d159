import type { LanguageModelUsage } from 'ai';
import { z } from 'zod';

/** Tokens (and cost, when a price table is given) a task spent: its own model calls and its delegations'. */
export type Usage = { inputTokens: number; outputTokens: number; totalTokens: number; costUsd?: number };

/** The price of a model, in US dollars per million tokens. */
export type Price = { inputPerMillion: number; outputPerMillion: number };

export const PriceSchema = z.object({
  inputPerMillion: z.number().min(0),
  outputPerMillion: z.number().min(0),
});

/** The most a task may spend: past it, the task ends with `ERROR` of type `BudgetExceeded`. */
export type Budget = {
  /** Tokens, its own and its delegations'. @default no limit */
  maxTokens?: number;
  /** US dollars (needs a price for the model). @default no limit */
  maxCostUsd?: number;
};

export const BudgetSchema = z.object({
  maxTokens: z.number().int().positive().optional(),
  maxCostUsd: z.number().positive().optional(),
});

export const ZERO: Usage = Object.freeze({ inputTokens: 0, outputTokens: 0, totalTokens: 0 });

/** The usage of one model call, priced when `price` is known. */
export function usageOf(usage: LanguageModelUsage, price: Price | undefined): Usage {
  const inputTokens = usage.inputTokens ?? 0;
  const outputTokens = usage.outputTokens ?? 0;
  const totalTokens = usage.totalTokens ?? inputTokens + outputTokens;
  return {
    inputTokens,
    outputTokens,
    totalTokens,
    ...(price
      ? { costUsd: (inputTokens * price.inputPerMillion + outputTokens * price.outputPerMillion) / 1_000_000 }
      : {}),
  };
}

export function addUsage(a: Usage, b: Usage): Usage {
  const cost = a.costUsd === undefined && b.costUsd === undefined ? undefined : (a.costUsd ?? 0) + (b.costUsd ?? 0);
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    totalTokens: a.totalTokens + b.totalTokens,
    ...(cost !== undefined ? { costUsd: cost } : {}),
  };
}

/** What is over the budget, in words, or undefined. */
export function overBudget(usage: Usage, budget: Budget | undefined): string | undefined {
  if (budget?.maxTokens !== undefined && usage.totalTokens > budget.maxTokens) {
    return `spent ${usage.totalTokens} tokens, over the budget of ${budget.maxTokens}`;
  }
  if (budget?.maxCostUsd !== undefined && (usage.costUsd ?? 0) > budget.maxCostUsd) {
    return `spent $${(usage.costUsd ?? 0).toFixed(4)}, over the budget of $${budget.maxCostUsd}`;
  }
  return undefined;
}

/** Usage as a mail body carries it (`usage` of RESULT and ERROR). */
export const toWire = (u: Usage) => ({
  input_tokens: u.inputTokens,
  output_tokens: u.outputTokens,
  total_tokens: u.totalTokens,
  ...(u.costUsd !== undefined ? { cost_usd: u.costUsd } : {}),
});

export const fromWire = (u: {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cost_usd?: number | undefined;
}): Usage => ({
  inputTokens: u.input_tokens,
  outputTokens: u.output_tokens,
  totalTokens: u.total_tokens,
  ...(u.cost_usd !== undefined ? { costUsd: u.cost_usd } : {}),
});

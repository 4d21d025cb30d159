/** One benchmark figure, as written to bench/results.json. */
export type BenchResult = {
  id: string;
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  ratio?: number;
  target?: string;
  [extra: string]: unknown;
};

/** Percentile of sorted numbers (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export const round = (n: number, digits = 3): number => Number(n.toFixed(digits));

/** Median of numbers (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Every number of a result, by dotted path (`value`, `baseline.value`, `fast.aloneP50`…); arrays left out. */
function numbers(value: unknown, path = '', out = new Map<string, number>()): Map<string, number> {
  if (typeof value === 'number' && Number.isFinite(value)) out.set(path, value);
  else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) numbers(v, path ? `${path}.${k}` : k, out);
  }
  return out;
}

/**
 * One result from several rounds of a benchmark: each number is the median of the rounds (a ratio
 * the median of the rounds' own ratios, each measured side by side with its baseline), and `range`
 * holds the min and max of every number by path; `rounds` says how many.
 */
export function medianOfRounds(rounds: readonly BenchResult[]): BenchResult {
  const first = rounds[0];
  if (!first) throw new Error('no rounds');
  const byPath = new Map<string, number[]>();
  for (const r of rounds) {
    for (const [path, n] of numbers(r)) {
      const list = byPath.get(path);
      if (list) list.push(n);
      else byPath.set(path, [n]);
    }
  }
  const result = structuredClone(first) as BenchResult;
  const range: Record<string, { min: number; max: number }> = {};
  for (const [path, list] of byPath) {
    const keys = path.split('.');
    let target: unknown = result;
    for (const k of keys.slice(0, -1)) target = (target as Record<string, unknown> | undefined)?.[k];
    // A number only some rounds have (a nested field the first round lacks) keeps its range only.
    if (typeof target === 'object' && target !== null) {
      (target as Record<string, unknown>)[keys[keys.length - 1] as string] = round(median(list));
    }
    range[path] = { min: Math.min(...list), max: Math.max(...list) };
  }
  return { ...result, rounds: rounds.length, range };
}

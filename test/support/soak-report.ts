import { appendFileSync } from 'node:fs';

/** One reliability run's figures, as `pnpm soak` prints them. */
export type SoakFigures = {
  test: string;
  tasks: number;
  completed: number;
  deadLettered: number;
  lost: number;
  duplicates: number;
  faults: number;
};

/** Appends the figures to SOAK_REPORT (a JSON-lines file) when `pnpm soak` asked for them. */
export function report(figures: SoakFigures): void {
  const file = process.env.SOAK_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify(figures)}\n`);
}

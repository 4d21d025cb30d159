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

/** The figures of a run whose every task should have one answer: `answers` counts them by task. */
export function reportAnswers(test: string, tasks: number, answers: Map<string, number>, faults: number): void {
  report({
    test,
    tasks,
    completed: answers.size,
    deadLettered: 0,
    lost: tasks - answers.size,
    duplicates: [...answers.values()].filter((n) => n > 1).length,
    faults,
  });
}

import { defineTask, type Runtime, type TaskRegistry, type TaskRole, type TaskState } from '@mailroom/core';
import { filter, firstValueFrom } from 'rxjs';
import { afterEach } from 'vitest';
import { z } from 'zod';

// What the tests of @mailroom/ai share.

/** The runtimes a test file started: each test's are stopped after it. */
export function stoppedAfterEach(): Runtime[] {
  const runtimes: Runtime[] = [];
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.stop()));
  });
  return runtimes;
}

/** Resolves once the task's record is in `state`: at once, or when the registry reports the change. */
export async function inState(tasks: TaskRegistry, taskId: string, role: TaskRole, state: TaskState): Promise<void> {
  const changed = firstValueFrom(
    tasks.changes$.pipe(filter((r) => r.taskId === taskId && r.role === role && r.state === state)),
  );
  if (tasks.get(taskId, role)?.state !== state) await changed;
}

/** Resolves once `signal` is aborted (at once if it is). */
export const aborted = (signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });

/** A peer's contract: facts on a topic. */
export const Research = defineTask({
  name: 'research',
  description: 'Find the facts on one topic',
  input: z.object({ topic: z.string() }),
  output: z.object({ facts: z.array(z.string()) }),
});

type Prompt = { prompt: { role: string; content: string | { text?: string; output?: unknown }[] }[] };

/** A model call's prompt as `role: text` lines (tool outputs as JSON), the system prompt too. */
export const promptLines = (call: unknown): string[] =>
  (call as Prompt).prompt.map(
    (m) =>
      `${m.role}: ${
        typeof m.content === 'string'
          ? m.content
          : m.content.map((p) => p.text ?? (p.output === undefined ? '' : JSON.stringify(p.output))).join('\n')
      }`,
  );

import { defineTask, type Runtime } from '@mailroom/core';
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

// The task contracts both sides import: the orchestrator asks with them, the agents take them.
import { defineTask } from '@mailroom/core';
import { z } from 'zod';

const Topic = z.object({ topic: z.string().min(1) });
const Part = z.object({ skill: z.string(), answer: z.string() });

/** What the user asks the orchestrator for. */
export const Report = defineTask({
  name: 'report',
  description: 'write a short report on a topic',
  input: Topic,
  output: z.array(Part),
});

/** One specialist's part of a report, one contract per skill. */
export const parts = {
  search: defineTask({ name: 'search', description: 'find sources', input: Topic, output: Part }),
  analyze: defineTask({ name: 'analyze', description: 'analyze the sources', input: Topic, output: Part }),
  cite: defineTask({ name: 'cite', description: 'format citations', input: Topic, output: Part }),
};
export type Skill = keyof typeof parts;

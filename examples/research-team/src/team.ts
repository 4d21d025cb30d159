import { defineTask } from '@mailroom/core';
import { z } from 'zod';

// The team's task contracts: the orchestrator answers Brief; the specialists answer Research and Critique.

export const Brief = defineTask({
  name: 'brief',
  description: 'Write a short, sourced brief answering a question',
  input: z.object({ question: z.string() }),
  output: z.object({ brief: z.string(), caveats: z.array(z.string()) }),
});

export const Research = defineTask({
  name: 'research',
  description: 'Find three key facts on one topic',
  input: z.object({ topic: z.string() }),
  output: z.object({ facts: z.array(z.string()) }),
});

export const Critique = defineTask({
  name: 'critique',
  description: 'Point out what a draft overstates or leaves out',
  input: z.object({ draft: z.string() }),
  output: z.object({ issues: z.array(z.string()) }),
});

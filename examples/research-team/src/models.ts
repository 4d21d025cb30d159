import { type ScriptedTurn, scriptedModel } from '@mailroom/ai';
import type { LanguageModel } from 'ai';

/** The three models of the team: one real model for all, or a script each. */
export type TeamModels = { orchestrator: Model; researcher: Model; critic: Model; scripted: boolean };
type Model = Exclude<LanguageModel, string>;

/** The last user message of a call, as text. */
const lastAsk = (prompt: unknown): string => JSON.stringify(prompt).split('Input:').at(-1) ?? '';

const FACTS: Record<string, string[]> = {
  actors: [
    'An actor handles one message at a time and shares no state',
    'Actors are addressed by name, not by reference',
    'Supervisors restart failed actors',
  ],
  email: [
    'Mail is durable: a message outlives its sender',
    'Threads keep the order and the history of an exchange',
    'Idempotency keys make a retried send safe',
  ],
};

const orchestratorScript: ScriptedTurn[] = [
  {
    toolCalls: [
      { tool: 'research', input: { topic: 'actors' } },
      { tool: 'research', input: { topic: 'email' } },
    ],
    usage: { input: 420, output: 38 },
  },
  {
    toolCalls: [{ tool: 'critique', input: { draft: 'Actors plus mail give agents durable, isolated teamwork.' } }],
    usage: { input: 690, output: 41 },
  },
  {
    text: JSON.stringify({
      brief:
        'Actors give each agent one message at a time and no shared state; mail makes every hand-off durable, ordered by thread and safe to retry. Together: agents that coordinate by email and survive restarts.',
      caveats: ['Mail adds latency: seconds, not microseconds'],
    }),
    usage: { input: 840, output: 96 },
  },
];

/** Scripted models, so that the example runs offline in a second. */
export function scriptedTeam(): TeamModels {
  return {
    scripted: true,
    orchestrator: scriptedModel(orchestratorScript, 'scripted-orchestrator'),
    researcher: scriptedModel(
      (call) => ({
        text: JSON.stringify({ facts: FACTS[lastAsk(call.prompt).includes('email') ? 'email' : 'actors'] }),
        usage: { input: 210, output: 64 },
      }),
      'scripted-researcher',
    ),
    critic: scriptedModel(
      [
        {
          text: JSON.stringify({ issues: ['"durable" needs a post office that persists'] }),
          usage: { input: 180, output: 22 },
        },
      ],
      'scripted-critic',
    ),
  };
}

/**
 * A real model from `provider:id` (`openai:gpt-4o-mini`, `anthropic:claude-…`): the provider's
 * package `@ai-sdk/{provider}` must be installed, and its key set in the environment.
 */
export async function realTeam(spec: string): Promise<TeamModels> {
  const [provider, ...rest] = spec.split(':');
  const id = rest.join(':');
  if (!provider || !id) throw new Error(`--model wants provider:id (e.g. openai:gpt-4o-mini), not "${spec}"`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(`@ai-sdk/${provider}`)) as Record<string, unknown>;
  } catch {
    throw new Error(
      `the provider package @ai-sdk/${provider} is not installed: pnpm --filter @mailroom/example-research-team add @ai-sdk/${provider}`,
    );
  }
  const factory = mod[provider];
  if (typeof factory !== 'function') throw new Error(`@ai-sdk/${provider} has no provider named ${provider}`);
  const model = (factory as (id: string) => Model)(id);
  return { scripted: false, orchestrator: model, researcher: model, critic: model };
}

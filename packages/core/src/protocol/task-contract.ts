import { z } from 'zod';
import { TaskFailedError, ValidationError } from '../errors.js';

/**
 * What a kind of task takes and gives: both sides import it. The worker's handler gets the decoded
 * input and must return the output; the requester's `ask` sends the input and resolves with the
 * decoded output. The schemas are zod's; {@link TaskContract.jsonSchema} gives them as JSON Schema.
 */
export type TaskContract<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> = {
  /** The task's name: the `{name}` of `TASK:{id} — {name}`, which the worker dispatches on. */
  readonly name: string;
  /** What the task is for (the TASK body's `description`). */
  readonly description: string;
  readonly input: I;
  readonly output: O;
  /** The contract as JSON Schema (draft 2020-12, by zod 4's `z.toJSONSchema`): for model tools and docs. */
  jsonSchema(): TaskJsonSchema;
};

/** A contract as JSON Schema. */
export type TaskJsonSchema = {
  name: string;
  description: string;
  input: Record<string, unknown>;
  output: Record<string, unknown>;
};

/** What a requester passes to `ask` for a contract (the input schema's input type). */
export type TaskInput<C extends TaskContract> = z.input<C['input']>;
/** What `ask` resolves with for a contract (the output schema's output type). */
export type TaskOutput<C extends TaskContract> = z.output<C['output']>;

const Definition = z.object({
  name: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^\r\n]+$/, 'one line'),
  description: z.string().max(10_000).optional(),
  input: z.custom<z.ZodType>((v) => v instanceof z.ZodType, 'a zod schema'),
  output: z.custom<z.ZodType>((v) => v instanceof z.ZodType, 'a zod schema'),
});

/**
 * Defines a task contract. Throws `ValidationError` for a name that cannot go in a subject line or
 * a schema that is not zod's.
 *
 * @example
 * const Summarize = defineTask({
 *   name: 'summarize',
 *   input: z.object({ text: z.string() }),
 *   output: z.object({ summary: z.string() }),
 * });
 */
export function defineTask<I extends z.ZodType, O extends z.ZodType>(definition: {
  name: string;
  /** @default the name */
  description?: string;
  input: I;
  output: O;
}): TaskContract<I, O> {
  const checked = Definition.safeParse(definition);
  if (!checked.success) throw ValidationError.fromZod('task contract', checked.error);
  const { name, input, output } = definition;
  const description = definition.description ?? name;
  return Object.freeze({
    name,
    description,
    input,
    output,
    jsonSchema: () => ({
      name,
      description,
      input: z.toJSONSchema(input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
      output: z.toJSONSchema(output, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>,
    }),
  });
}

/** The zod issues of a failed decode, in one line: `at text: expected string, received number; …`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length > 0 ? `at ${i.path.map(String).join('.')}: ` : ''}${i.message}`)
    .join('; ');
}

/**
 * Decodes one side of a task by its schema: the data, or a `TaskFailedError` of type `type`
 * (`InvalidInput`, `InvalidOutput`) naming every zod issue. Never throws.
 */
export async function decodeTaskData<S extends z.ZodType>(
  contract: TaskContract,
  schema: S,
  data: unknown,
  type: 'InvalidInput' | 'InvalidOutput',
): Promise<{ ok: true; value: z.output<S> } | { ok: false; error: TaskFailedError }> {
  const parsed = await parseEither(schema, data);
  if (parsed.success) return { ok: true, value: parsed.data };
  const what = type === 'InvalidInput' ? 'input' : 'output';
  return {
    ok: false,
    error: new TaskFailedError(type, `${contract.name}: ${what} fails its schema: ${describeIssues(parsed.error)}`, {
      cause: parsed.error,
    }),
  };
}

/** Parses synchronously, or asynchronously when the schema needs it (async refinements): the sync path is the fast one. */
export function parseEither<S extends z.ZodType>(
  schema: S,
  data: unknown,
): z.ZodSafeParseResult<z.output<S>> | Promise<z.ZodSafeParseResult<z.output<S>>> {
  try {
    return schema.safeParse(data);
  } catch (err) {
    if (err instanceof Error && err.constructor.name === '$ZodAsyncError') return schema.safeParseAsync(data);
    throw err;
  }
}

/**
 * Agents, the runtime, the embedded post office, the protocol and the wire model.
 * @module @mailroom/core
 */
// @mailroom/core — what a user writes agents with.
//
// Left out on purpose (see the other entry points): the kit a post-office implementation needs
// (quota windows, send planning, cursors, keys, wake-ups, the error bodies of the wire model) is
// `@mailroom/core/post-office`; virtual time, manual clocks, recorders and the conformance suites
// are `@mailroom/core/testing`. Internals (the task registry as a class, the in-flight set, shared
// timers, the memory office's indexes) are exported nowhere.

// Agents and the runtime
export type {
  AgentActions,
  AgentContext,
  AskOptions,
  DelegateOptions,
  SendOptions,
  Task,
  TaskHandler,
  TaskMail,
  TaskSpec,
} from './agents/agent.js';
export { Agent } from './agents/agent.js';
export type { AgentOptions, ChildFailure, DeadLetter } from './agents/agent-options.js';
export type { AgentRef } from './agents/agent-ref.js';
export type { Interception, SendHook, ToolCall, ToolHook } from './agents/hooks.js';
export type { RetryPolicy } from './agents/retry-timing.js';
// Audit
export { renderMermaid, renderSvg, renderThreadHtml } from './audit/render.js';
export { renderTimelineText, type TimelineEntry, timeline } from './audit/timeline.js';
// Errors
export {
  AuthError,
  ConflictError,
  ForbiddenError,
  type LimitType,
  MailboxError,
  MailroomError,
  type MailroomErrorCode,
  NotFoundError,
  ProtocolError,
  QueueFullError,
  type RateLimitDetails,
  RateLimitedError,
  StoppedError,
  TaskCanceledError,
  TaskFailedError,
  ValidationError,
  type ValidationIssue,
  WithdrawnError,
} from './errors.js';
export type { InboxStreamOptions } from './inbox/inbox-options.js';
export { inboxStream } from './inbox/inbox-stream.js';
export { LocalMailbox } from './mailbox/local-mailbox.js';
export type { Mailbox } from './mailbox/mailbox.js';
export type { PostOffice } from './mailbox/post-office-contract.js';
export {
  type ScheduledSendOptions,
  SendScheduler,
  type SendSchedulerOptions,
  type SendSchedulerState,
  type SendTicket,
  type StaggerPolicy,
} from './outbox/send-scheduler.js';
// Post offices and mailboxes
export { MemoryPostOffice, type MemoryPostOfficeOptions } from './post-office/memory/memory-post-office.js';
export type { RetentionOptions } from './post-office/memory/retention.js';
// The protocol
export {
  AckBody,
  CancelBody,
  ErrorBody,
  type EscalationStep,
  ResultBody,
  StatusBody,
  TaskBody,
  TaskState,
  type UsageBody,
} from './protocol/bodies.js';
export {
  type AnsweredTask,
  type DecodeFailure,
  decodeMessage,
  isDecodeFailure,
  type ProtocolMessage,
} from './protocol/codec.js';
export { decisionOf, type EscalationDecision } from './protocol/decision.js';
export { Escalation, parseEscalationBody } from './protocol/escalation.js';
export {
  formatTaskMailSubject,
  type ParsedSubject,
  parseSubject,
  type TaskMailKind,
} from './protocol/subject.js';
export {
  defineTask,
  type TaskContract,
  type TaskInput,
  type TaskJsonSchema,
  type TaskOutput,
} from './protocol/task-contract.js';
// Patterns and routing
export {
  type Assignment,
  contribute,
  hubAndSpoke,
  openSharedThread,
  type PipelineStage,
  pipeline,
} from './routing/patterns.js';
export { RouterAgent } from './routing/router-agent.js';
export {
  createRouter,
  fanOut,
  type RouteResult,
  type Router,
  type RouterOptions,
  type RouterStrategy,
  routeAnswer,
} from './routing/routing.js';
export { createRuntime, type Runtime, type RuntimeOptions, type SpawnOptions } from './runtime/runtime.js';
export { type EscalateOptions, type EscalationOutcome, escalate } from './supervision/escalate.js';
export type {
  ChildSpec,
  NestedSpec,
  RestartType,
  SupervisionStrategy,
  SupervisorOptions,
  UnansweredEscalation,
} from './supervision/supervision.js';
// Supervision
export { Supervisor } from './supervision/supervisor.js';
// The class stays internal; its type is what `ref.tasks` is.
export type { TaskRegistry } from './tasks/task-registry.js';
export { TaskTimeoutError } from './tasks/task-timeout-error.js';
export type { TaskOutcome, TaskRecord, TaskRole } from './tasks/types.js';
export type { Clock } from './time/clock.js';
// The wire model (the rest of it: `@mailroom/core/post-office`)
export {
  Account,
  InboxPage,
  InboxQuery,
  Message,
  SendRequest,
  SendResult,
  SentPage,
  SentQuery,
  Thread,
} from './wire/model.js';

export {
  Agent,
  type AgentActions,
  type AgentContext,
  type DelegateOptions,
  type SendOptions,
  type Task,
  type TaskMail,
  type TaskSpec,
} from './agent.js';
export type { AgentOptions, ChildFailure, DeadLetter } from './agent-options.js';
export { renderTimelineText, type TimelineEntry, timeline } from './audit.js';
export { renderMermaid, renderSvg, renderThreadHtml } from './audit-render.js';
export { type Clock, systemClock } from './clock.js';
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
  TaskFailedError,
  TaskTimeoutError,
  ValidationError,
  type ValidationIssue,
  WithdrawnError,
} from './errors.js';
export { InFlight } from './in-flight.js';
export { type InboxStreamOptions, inboxStream } from './inbox-stream.js';
export { LocalMailbox } from './local-mailbox.js';
export { decodeCursor, encodeCursor, inboxCursorMode } from './mail/cursor.js';
export { hashKey, newApiKey } from './mail/keys.js';
export { ClaimQuery, LEASES_HEADER, LeasedPage, RenewRequest, RenewResult } from './mail/lease.js';
export { LeaseTable } from './mail/lease-table.js';
export {
  Account,
  Address,
  AgentId,
  InboxPage,
  InboxQuery,
  type InboxQueryParsed,
  MAX_BODY_BYTES,
  Message,
  QuotaWindow,
  RateLimitBody,
  RegisterRequest,
  Registration,
  SendRequest,
  SendResult,
  SentPage,
  SentQuery,
  Thread,
  ValidationErrorBody,
} from './mail/model.js';
export { parseOrThrow } from './mail/parse.js';
export {
  assertQuota,
  countSend,
  currentUsage,
  DAY_MS,
  emptyUsage,
  HOUR_MS,
  type QuotaLimits,
  type QuotaUsage,
  rateLimits,
} from './mail/quota.js';
export type { RetentionOptions } from './mail/retention.js';
export { planSend, type SendPlan } from './mail/send-plan.js';
export { SkipList } from './mail/skip-list.js';
export { WakeUps } from './mail/wake-ups.js';
export type { Mailbox } from './mailbox.js';
export { MemoryPostOffice, type MemoryPostOfficeOptions } from './memory-post-office.js';
export {
  type Assignment,
  contribute,
  hubAndSpoke,
  openSharedThread,
  type PipelineStage,
  pipeline,
} from './patterns.js';
export type { PostOffice } from './post-office.js';
export { AckBody, CancelBody, ErrorBody, ResultBody, StatusBody, TaskBody, TaskState } from './protocol/bodies.js';
export { type DecodeFailure, decodeMessage, isDecodeFailure, type ProtocolMessage } from './protocol/codec.js';
export {
  Escalation,
  type EscalationInput,
  formatEscalationBody,
  parseEscalationBody,
} from './protocol/escalation.js';
export {
  formatCollabSubject,
  formatEscalationSubject,
  formatReplySubject,
  formatTaskMailSubject,
  formatTaskSubject,
  type ParsedSubject,
  parseSubject,
  TASK_ID,
  type TaskMailKind,
} from './protocol/subject.js';
export { RouterAgent } from './router-agent.js';
export {
  createRouter,
  fanOut,
  type RouteResult,
  type Router,
  type RouterOptions,
  type RouterStrategy,
  routeAnswer,
} from './routing.js';
export { type AgentRef, createRuntime, type Runtime, type RuntimeOptions, type SpawnOptions } from './runtime.js';
export { ImmediateScheduler, immediateScheduler, SharedTimer } from './scheduling.js';
export {
  type ScheduledSendOptions,
  SendScheduler,
  type SendSchedulerOptions,
  type SendSchedulerState,
  type SendTicket,
  type StaggerPolicy,
} from './send-scheduler.js';
export {
  type ChildSpec,
  DECISIONS,
  decisionOf,
  type EscalationDecision,
  type NestedSpec,
  type RestartType,
  type SupervisionStrategy,
  type SupervisorOptions,
  type UnansweredEscalation,
} from './supervision.js';
export { Supervisor } from './supervisor.js';
export { isFinal, type TaskOutcome, type TaskRecord, TaskRegistry, type TaskRole } from './task-registry.js';
export { drain, VirtualTime } from './virtual-time.js';

// @mailroom/ai — agents that think: a model's tool loop answers a task, other agents are its tools.
export { ModelAgent, type ModelAgentOptions } from './model-agent.js';
export type { ProgressEvent } from './progress.js';
export type { ProviderRetry } from './provider-retry.js';
export { type Script, type ScriptedTurn, scriptedModel } from './scripted-model.js';
export type { Peer } from './tools.js';
export type { Budget, Price, Usage } from './usage.js';

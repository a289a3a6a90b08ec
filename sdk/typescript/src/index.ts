export { AgentSpend, type FlushOptions, type CloseOptions } from "./client.js";
export { Run, type RunOptions, type EndOptions } from "./run.js";
export {
  AgentSpendError,
  AgentSpendConfigError,
  AgentSpendUnavailableError,
  SpendRefusedError,
  type RefusalReason,
  type RefusingBudget,
} from "./errors.js";
export type {
  SpendEvent,
  AgentSpendOptions,
  CheckRequest,
  CheckResult,
  Reservation,
  RejectedEvent,
  RejectionInfo,
  DeliveryFailure,
  TimerApi,
} from "./types.js";
export { fromOpenAIChatCompletion, fromOpenAIResponse, fromAnthropicMessage, fromResponse } from "./responses.js";
export { uuidv7 } from "./uuid.js";
export { parseRetryAfter } from "./util.js";
export { VERSION, SDK_NAME } from "./version.js";

// The `stbass/models` subpath: backends that place processes on model APIs, `ctx.model`, and what a backend of your own extends.
export { AnthropicBackend, anthropicConfigSchema, type AnthropicBackendOptions, type AnthropicConfig } from './models/AnthropicBackend';
export {
  OpenAICompatibleBackend,
  openAICompatibleConfigSchema,
  type OpenAICompatibleBackendOptions,
  type OpenAICompatibleConfig,
} from './models/OpenAICompatibleBackend';
export {
  ModelBackend,
  type ModelBackendOptions,
  type ModelBackendSettings,
  type ModelConnection,
  type ChatRequest,
  type EmbeddingsRequest,
  type Embeddings,
} from './models/ModelBackend';
export type { StreamStep, UsageTotals } from './models/textStream';
export { type ModelFailure, retryAfterSeconds } from './models/toModelError';
export { MODEL_ERROR_TABLE, classifyModelError, type ClassificationRow, type Classification, type ErrorSignature, type ModelErrorKind } from './models/classification';
export { readErrorBody, type ErrorDetail } from './models/errorBody';
export { serverSentEvents, type ServerSentEvent } from './models/serverSentEvents';
export { responseSteps, type ResponseDecoder } from './models/responseSteps';
export { modelOf, type ModelClient, type GenerateRequest, type ModelOverrides, type EmbedOptions } from './models/ModelClient';
export type { ChatMessage } from './models/request';
export {
  ModelError,
  ModelRateLimitError,
  ModelServerError,
  ModelAuthError,
  ModelNotFoundError,
  ModelBadRequestError,
  ModelConnectionError,
  ModelStreamError,
  ModelResponseError,
  ModelUsageError,
  type ModelErrorFields,
  type ModelProvider,
} from './models/errors';

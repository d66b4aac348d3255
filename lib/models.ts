// The `stbass/models` subpath: backends that place processes on model APIs, and `ctx.model`.
export { AnthropicBackend, anthropicConfigSchema, type AnthropicBackendOptions, type AnthropicConfig } from './models/AnthropicBackend';
export {
  OpenAICompatibleBackend,
  openAICompatibleConfigSchema,
  type OpenAICompatibleBackendOptions,
  type OpenAICompatibleConfig,
} from './models/OpenAICompatibleBackend';
export { ModelBackend } from './models/ModelBackend';
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
  ModelUsageError,
  type ModelErrorFields,
  type ModelProvider,
} from './models/errors';
export { retryAfterSeconds } from './models/toModelError';

// The `stbass/ai-sdk` subpath: AI SDK models (`ai`, with any `@ai-sdk/*` provider) as placements.
export {
  AiSdkBackend,
  aiSdkConfigSchema,
  type AiSdkBackendOptions,
  type AiSdkConfig,
  type AiSdkProvider,
  type AiSdkLanguageModel,
  type AiSdkEmbeddingModel,
} from './ai-sdk/AiSdkBackend';

import type { Observable } from 'rxjs';
import { ProcessContext } from '../process/ProcessContext';
import type { AnthropicConfig } from './AnthropicBackend';
import { ModelUsageError } from './errors';
import type { OpenAICompatibleConfig } from './OpenAICompatibleBackend';
import type { ChatMessage } from './request';

/**
 * Per-call overrides of `placement.config`: the keys of the backend the process runs on. Keys the
 * backend does not know fail the call with a `ModelUsageError` that lists the valid ones.
 */
export type ModelOverrides = AnthropicConfig & OpenAICompatibleConfig;

/** What to ask a model: a `prompt` (one user turn) or `messages`, an optional `system` prompt, and overrides. */
export type GenerateRequest = ModelOverrides & { readonly system?: string } & (
    | { readonly prompt: string; readonly messages?: undefined }
    | { readonly messages: readonly ChatMessage[]; readonly prompt?: undefined }
  );

/** Options of `embed`. */
export interface EmbedOptions {
  /** The size of each vector, for models that can shorten theirs (OpenAI's `dimensions`). */
  readonly dimensions?: number;
}

/**
 * The model a process was placed on, bound to the pair's `placement.model` and `placement.config`
 * and to the process's context: requests are cancelled with `ctx.signal`, streamed text is
 * published with `ctx.emit`, and tokens are counted with `ctx.recordUsage`.
 *
 * @example
 * ```ts
 * const writer = Process('writer', async (ctx) => {
 *   const model = modelOf(ctx);
 *   const draft = await model.generate({ system: 'You write refunds.', prompt: 'Draft the reply.' });
 *   return ProcessResult.ok(draft);
 * });
 * ```
 */
export interface ModelClient {
  /** The backend's name. */
  readonly backend: string;
  /** The model requests go to: `placement.model`, else the backend's `model` option. */
  readonly model: string;
  /** The validated config every request starts from: the backend's `config` option, then `placement.config`. */
  readonly config: Readonly<Record<string, unknown>>;
  /**
   * Asks the model and resolves with its whole answer. The answer is streamed on the wire, so its
   * pieces are `partial` events as they arrive, and a broken stream keeps what arrived.
   */
  generate(request: string | GenerateRequest): Promise<string>;
  /**
   * The answer as an Observable of text pieces, each also published with `ctx.emit`. Cold: each
   * subscription is one request, and unsubscribing closes its connection.
   */
  stream(request: string | GenerateRequest): Observable<string>;
  /** One vector per text, in order (OpenAI-compatible backends; Anthropic has no embeddings API). */
  embed(texts: readonly string[], options?: EmbedOptions): Promise<number[][]>;
}

declare module '../process/ProcessContext' {
  // The type parameter must repeat the class's to merge with it.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  interface ProcessContext<Input> {
    /**
     * The model this process was placed on, when a model backend (`AnthropicBackend`,
     * `OpenAICompatibleBackend`) runs it; `undefined` elsewhere. `modelOf(ctx)` reads it or says
     * why it cannot.
     */
    readonly model?: ModelClient;
  }
}

/** @internal How a model backend gives a process its model: a read-only property of that execution's context. */
export function provideModel(ctx: ProcessContext, model: ModelClient): void {
  Object.defineProperty(ctx, 'model', { value: model, configurable: true, enumerable: false, writable: false });
}

/**
 * The model of a process placed on a model backend; throws a `ModelUsageError` that says where the
 * process runs instead when it is not.
 *
 * @example
 * ```ts
 * const classifier = Process('classifier', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate('Label: ...')));
 * ```
 */
export function modelOf(ctx: ProcessContext): ModelClient {
  if (!(ctx instanceof ProcessContext)) throw new ModelUsageError('modelOf(ctx)', "a ProcessContext (the process's ctx)", ctx);
  const model = ctx.model;
  if (model !== undefined) return model;
  const where = ctx.backend === undefined ? 'outside a run' : `on backend "${ctx.backend}"`;
  throw new ModelUsageError(
    'modelOf(ctx)',
    'the context of a process placed on a model backend (register an AnthropicBackend or OpenAICompatibleBackend and place the process on it)',
    ctx,
    { receivedText: `the context of process "${ctx.processName}", which runs ${where} with placement (${ctx.placement.summary})` },
  );
}

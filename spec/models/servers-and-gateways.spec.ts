/**
 * What servers and gateways that stbass did not write do on the wire, each case reproduced by the
 * fixture server: error events inside streams in OpenAI's, Anthropic's and a gateway's shapes,
 * `[DONE]` without a `finish_reason`, an HTML page or a whole JSON answer where a stream was
 * expected, error bodies that are plain text or a web framework's JSON, events cut off midway.
 */
import { FailurePolicy, type Failure, PLACED_PAR, Process, ProcessResult } from '../../lib';
import {
  ModelAuthError,
  ModelBadRequestError,
  ModelNotFoundError,
  ModelRateLimitError,
  ModelResponseError,
  ModelServerError,
  ModelStreamError,
  modelOf,
} from '../../lib/models';
import { type Behaviour, ModelApiServer } from '../fixtures/modelApiServer';
import { type ModelProvider, OPENAI_COMPATIBLE, PROVIDERS, partialsOf, placementOn, registryWith, runWithEvents } from '../fixtures/modelProviders';

const REPLY = 'Refund the duplicate proration charge today.';
const TOKENS = ['Refund', ' the', ' duplicate', ' proration', ' charge', ' today.'];
const retry3 = FailurePolicy.retry({ maxAttempts: 3, backoff: 'constant', baseDelay: 0.01 });
const writer = Process('writer', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate('My invoice doubled')));

const EXPRESS_404 = '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot POST /v2/chat/completions</pre>\n</body>\n</html>\n';
const LOGIN_PAGE = '<!doctype html><html><head><title>Sign in · Acme Gateway</title><style>body{font:14px sans-serif}</style></head><body><h1>Welcome</h1><form>…</form></body></html>';

describe.each(PROVIDERS)('$label against servers and gateways of other makers', (provider: ModelProvider) => {
  let server: ModelApiServer;

  beforeAll(async () => {
    server = await ModelApiServer.start({ replies: { writer: REPLY } });
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  /** Runs the writer under `policy` after scripting `behaviours`, and returns its failure (throws if it succeeded). */
  async function failureAfter(behaviours: Behaviour[], policy: FailurePolicy = retry3): Promise<Failure> {
    server.script('writer', ...behaviours);
    const result = await PLACED_PAR([writer, placementOn(provider, 'writer')], { registry: registryWith(provider, provider.backend(server)), onFailure: policy }).run();
    const failure = result.failures[0];
    if (failure === undefined) throw new Error('the writer succeeded');
    return failure;
  }

  describe('an error event inside a stream is classified by the same table as an HTTP error', () => {
    test('invalid_api_key in OpenAI\'s shape is a final ModelAuthError: one request under retry({ maxAttempts: 3 })', async () => {
      const failure = await failureAfter([
        { kind: 'streamError', shape: 'openai', afterTokens: 1, type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided: sk-***1234.' },
      ]);
      expect(failure.error).toBeInstanceOf(ModelAuthError);
      expect(failure.error).toMatchObject({ retryable: false, type: 'invalid_api_key', partialText: 'Refund', status: undefined });
      expect(failure.error.message).toContain('with an error event invalid_api_key: Incorrect API key provided: sk-***1234.');
      expect(failure.error.message).toContain(`Check the API key: pass { apiKey } to new ${provider.label}(...) or set ${provider.keyVariable}.`);
      expect(failure.attempts).toBe(1);
      expect(server.requests).toHaveLength(1);
    });

    test('authentication_error in Anthropic\'s shape is final too', async () => {
      const failure = await failureAfter([{ kind: 'streamError', shape: 'anthropic', type: 'authentication_error', message: 'invalid x-api-key' }]);
      expect(failure.error).toBeInstanceOf(ModelAuthError);
      expect(failure.attempts).toBe(1);
    });

    test('a 429 inside a stream is a ModelRateLimitError with the wait the server stated, and the retry waits it', async () => {
      const behaviour: Behaviour = { kind: 'streamError', shape: 'openai', afterTokens: 2, type: 'requests', code: 'rate_limit_exceeded', message: 'Rate limit reached for requests. Please try again in 1.5s.' };
      const limited = await failureAfter([behaviour], FailurePolicy.COLLECT);
      expect(limited.error).toBeInstanceOf(ModelRateLimitError);
      expect(limited.error).toMatchObject({ retryable: true, retryAfter: 1.5, partialText: 'Refund the' });
      expect(limited.error.message).toContain('It asked to retry after 1.5 s.');

      server.reset();
      server.script('writer', behaviour);
      const { events, result } = await runWithEvents([[writer, placementOn(provider, 'writer')]], { registry: registryWith(provider, provider.backend(server)), onFailure: retry3 });
      expect(result.value).toEqual([REPLY]);
      const retrying = events.find((event) => event.type === 'retrying');
      expect(retrying?.type === 'retrying' && retrying.delay).toBe(1.5);
    });

    test('a gateway\'s `event: error` with a numeric code: 429 is a rate limit with its retry_after, 502 a server error', async () => {
      const limited = await failureAfter([{ kind: 'streamError', shape: 'gateway', code: 429, retryAfter: 2, message: 'Upstream rate limit' }], FailurePolicy.COLLECT);
      expect(limited.error).toBeInstanceOf(ModelRateLimitError);
      expect(limited.error).toMatchObject({ status: 429, retryable: true, retryAfter: 2 });
      expect(limited.error.message).toContain('Upstream rate limit');

      server.reset();
      const upstream = await failureAfter([{ kind: 'streamError', shape: 'gateway', afterTokens: 1, code: 502 }], FailurePolicy.COLLECT);
      expect(upstream.error).toBeInstanceOf(ModelServerError);
      expect(upstream.error).toMatchObject({ status: 502, retryable: true, partialText: 'Refund' });
    });

    test('Anthropic\'s error shape on any stream (a gateway passing it through) is read the same way', async () => {
      const failure = await failureAfter([{ kind: 'streamError', shape: 'anthropic', type: 'rate_limit_error', message: 'Number of requests has exceeded your rate limit' }], FailurePolicy.COLLECT);
      expect(failure.error).toBeInstanceOf(ModelRateLimitError);
      expect(failure.error).toMatchObject({ type: 'rate_limit_error', retryable: true });
    });

    test('an error event of a shape the table does not know is final, not silently retryable', async () => {
      const failure = await failureAfter([{ kind: 'streamError', shape: 'gateway', afterTokens: 1, code: 'content_policy_tripwire', message: 'Blocked by policy' }]);
      expect(failure.error).toBeInstanceOf(ModelStreamError);
      expect(failure.error).toMatchObject({ retryable: false, type: 'content_policy_tripwire', partialText: 'Refund' });
      expect(failure.error.message).toContain('Blocked by policy');
      expect(failure.attempts).toBe(1);
      expect(server.requests).toHaveLength(1);
    });
  });

  describe('a body that is not a stream where a stream was expected', () => {
    test('an HTML page is a final ModelResponseError naming its content type and title, not its markup', async () => {
      const failure = await failureAfter([{ kind: 'raw', contentType: 'text/html; charset=utf-8', body: LOGIN_PAGE }]);
      expect(failure.error).toBeInstanceOf(ModelResponseError);
      expect(failure.error).toMatchObject({ retryable: false });
      expect(failure.error.message).toContain('answered with an HTML page (text/html; charset=utf-8) titled "Sign in · Acme Gateway"');
      expect(failure.error.message).toContain('Check the base URL');
      expect(failure.error.message).not.toContain('<');
      expect(failure.attempts).toBe(1);
    });

    test('a whole JSON answer is taken as the answer, with its usage, as one partial', async () => {
      server.script('writer', { kind: 'ignoreStream' });
      const { events, result } = await runWithEvents([[writer, placementOn(provider, 'writer')]], { registry: registryWith(provider, provider.backend(server)), onFailure: retry3 });
      expect(result.value).toEqual([REPLY]);
      expect(partialsOf(events)).toEqual([REPLY]);
      expect(result.entries[0]?.usage).toEqual({ inputTokens: 3, outputTokens: 6 });
      expect(server.requests).toHaveLength(1);
    });

    test('a JSON body that is no answer of this API is a final ModelResponseError', async () => {
      const failure = await failureAfter([{ kind: 'raw', contentType: 'application/json', body: '{"status":"ok","version":"1.2.3"}' }]);
      expect(failure.error).toBeInstanceOf(ModelResponseError);
      expect(failure.error.message).toContain('a JSON body that is not an answer ({"status":"ok","version":"1.2.3"})');
      expect(failure.attempts).toBe(1);
    });
  });

  describe('error bodies keep the server\'s own words', () => {
    test('a 500 whose JSON says { error, message } reports the message', async () => {
      const body = '{"error":"SyntaxError","message":"Unexpected token \'}\', \\"{\\"model\\": }\\" is not valid JSON"}';
      const failure = await failureAfter([{ kind: 'raw', status: 500, contentType: 'application/json; charset=utf-8', body }], FailurePolicy.COLLECT);
      expect(failure.error).toBeInstanceOf(ModelServerError);
      expect(failure.error).toMatchObject({ status: 500, retryable: true });
      expect(failure.error.message).toContain('answered 500: SyntaxError: Unexpected token \'}\', "{"model": }" is not valid JSON.');
    });

    test('a 404 HTML page reports its text (Express\'s "Cannot POST ...")', async () => {
      const failure = await failureAfter([{ kind: 'raw', status: 404, contentType: 'text/html; charset=utf-8', body: EXPRESS_404 }]);
      expect(failure.error).toBeInstanceOf(ModelNotFoundError);
      expect(failure.error.message).toContain('answered 404: Cannot POST /v2/chat/completions.');
      expect(failure.attempts).toBe(1);
    });

    test('a 404 in a web framework\'s JSON shape ({ message, error, statusCode })', async () => {
      const body = '{"message":"Route POST:/v2/chat/completions not found","error":"Not Found","statusCode":404}';
      const failure = await failureAfter([{ kind: 'raw', status: 404, contentType: 'application/json', body }]);
      expect(failure.error).toBeInstanceOf(ModelNotFoundError);
      expect(failure.error.message).toContain('answered 404: Not Found: Route POST:/v2/chat/completions not found.');
    });

    test('a plain-text 503 is retryable and says what the proxy said', async () => {
      const failure = await failureAfter([{ kind: 'raw', status: 503, contentType: 'text/plain', body: 'upstream connect error or disconnect/reset before headers. reset reason: connection failure\n' }], FailurePolicy.COLLECT);
      expect(failure.error).toBeInstanceOf(ModelServerError);
      expect(failure.error).toMatchObject({ status: 503, retryable: true });
      expect(failure.error.message).toContain('answered 503: upstream connect error or disconnect/reset before headers. reset reason: connection failure.');
    });

    test('a 400 in plain text is final', async () => {
      const failure = await failureAfter([{ kind: 'raw', status: 400, contentType: 'text/plain', body: 'Bad Request: messages must not be empty' }]);
      expect(failure.error).toBeInstanceOf(ModelBadRequestError);
      expect(failure.error.message).toContain('answered 400: Bad Request: messages must not be empty.');
      expect(failure.attempts).toBe(1);
    });
  });

  test('an event cut off midway says so (not "the connection dropped"), keeps the text, and is retried', async () => {
    const failure = await failureAfter([{ kind: 'cutEvent', afterTokens: 2 }], FailurePolicy.COLLECT);
    expect(failure.error).toBeInstanceOf(ModelStreamError);
    expect(failure.error).toMatchObject({ retryable: true, partialText: 'Refund the' });
    expect(failure.error.message).toMatch(/the stream ended inside an event, which was cut off after 10 characters of text: \{/);
    expect(failure.error.message).not.toContain('connection dropped');

    server.reset();
    server.script('writer', { kind: 'cutEvent', afterTokens: 2 });
    const result = await PLACED_PAR([writer, placementOn(provider, 'writer')], { registry: registryWith(provider, provider.backend(server)), onFailure: retry3 }).run();
    expect(result.value).toEqual([REPLY]);
    expect(result.entries[0]?.attempts).toBe(2);
  });
});

describe('OpenAICompatibleBackend and servers that end streams their own way', () => {
  let server: ModelApiServer;

  beforeAll(async () => {
    server = await ModelApiServer.start({ replies: { writer: REPLY } });
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  test('[DONE] without any finish_reason is a complete answer: one request, each partial once', async () => {
    server.script('writer', { kind: 'noFinishReason' });
    const { events, result } = await runWithEvents([[writer, placementOn(OPENAI_COMPATIBLE, 'writer')]], {
      registry: registryWith(OPENAI_COMPATIBLE, OPENAI_COMPATIBLE.backend(server)),
      onFailure: retry3,
    });
    expect(result.value).toEqual([REPLY]);
    expect(partialsOf(events)).toEqual(TOKENS);
    expect(result.entries[0]?.usage).toEqual({ inputTokens: 3, outputTokens: 6 });
    expect(server.requests).toHaveLength(1);
  });

  test('a stream that ends with neither [DONE] nor a finish_reason is still incomplete', async () => {
    server.script('writer', { kind: 'truncate', afterTokens: 6 });
    const result = await PLACED_PAR([writer, placementOn(OPENAI_COMPATIBLE, 'writer')], {
      registry: registryWith(OPENAI_COMPATIBLE, OPENAI_COMPATIBLE.backend(server)),
      onFailure: FailurePolicy.COLLECT,
    }).run();
    expect(result.failures[0]?.error).toBeInstanceOf(ModelStreamError);
    expect(result.failures[0]?.error.message).toContain('before the answer was complete');
  });

  test('embeddings without a usage block: the vectors, and no usage', async () => {
    server.script('nomic', { kind: 'noUsage' });
    const embedder = Process('embedder', async (ctx) => ProcessResult.ok(await modelOf(ctx).embed(['a', 'b'])));
    const result = await PLACED_PAR([embedder, placementOn(OPENAI_COMPATIBLE, 'nomic')], { registry: registryWith(OPENAI_COMPATIBLE, OPENAI_COMPATIBLE.backend(server)) }).run();
    expect(result.isOk).toBe(true);
    expect(result.value[0]).toHaveLength(2);
    expect(result.entries[0]?.usage).toBeUndefined();
  });

  test('an HTML page where embeddings were expected is a final ModelResponseError', async () => {
    server.script('nomic', { kind: 'raw', contentType: 'text/html', body: LOGIN_PAGE });
    const embedder = Process('embedder', async (ctx) => ProcessResult.ok(await modelOf(ctx).embed(['a'])));
    const result = await PLACED_PAR([embedder, placementOn(OPENAI_COMPATIBLE, 'nomic')], { registry: registryWith(OPENAI_COMPATIBLE, OPENAI_COMPATIBLE.backend(server)), onFailure: retry3 }).run();
    expect(result.failures[0]?.error).toBeInstanceOf(ModelResponseError);
    expect(result.failures[0]?.attempts).toBe(1);
  });
});

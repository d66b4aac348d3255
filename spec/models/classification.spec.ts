import { MODEL_ERROR_TABLE, classifyModelError, readErrorBody } from '../../lib/models';

describe('classifyModelError: the one table from status, type and code to a kind and retryability', () => {
  test.each([
    [{ status: 429 }, 'rateLimit', true],
    [{ status: 408 }, 'server', true],
    [{ status: 409 }, 'server', true],
    [{ status: 500 }, 'server', true],
    [{ status: 529, type: 'overloaded_error' }, 'server', true],
    [{ status: 401, type: 'invalid_request_error' }, 'auth', false],
    [{ status: 403 }, 'auth', false],
    [{ status: 404, type: 'invalid_request_error', code: 'model_not_found' }, 'notFound', false],
    [{ status: 422 }, 'badRequest', false],
    [{ status: 429, type: 'insufficient_quota', code: 'insufficient_quota' }, 'auth', false],
    [{ type: 'invalid_request_error', code: 'invalid_api_key' }, 'auth', false],
    [{ type: 'rate_limit_error' }, 'rateLimit', true],
    [{ type: 'overloaded_error' }, 'server', true],
    [{ type: 'not_found_error' }, 'notFound', false],
    [{ type: 'invalid_request_error' }, 'badRequest', false],
  ] as const)('%j is %s, retryable: %s', (signature, kind, retryable) => {
    expect(classifyModelError(signature)).toEqual({ kind, retryable });
  });

  test('what it does not recognise is final unless the status is 5xx, 429 or 408', () => {
    expect(classifyModelError({ type: 'something_new' })).toEqual({ kind: undefined, retryable: false });
    expect(classifyModelError({ code: 'content_policy_tripwire' })).toEqual({ kind: undefined, retryable: false });
    expect(classifyModelError({})).toEqual({ kind: undefined, retryable: false });
    expect(classifyModelError({ status: 302 })).toEqual({ kind: undefined, retryable: false });
    expect(classifyModelError({ status: 599, type: 'something_new' })).toEqual({ kind: 'server', retryable: true });
  });

  test('the code is read before the status, the status before the type', () => {
    expect(classifyModelError({ status: 400, code: 'invalid_api_key' }).kind).toBe('auth');
    expect(classifyModelError({ status: 500, type: 'invalid_request_error' }).kind).toBe('server');
  });

  test('the table is exported, every row matching on exactly one of status, type or code', () => {
    for (const row of MODEL_ERROR_TABLE) expect([row.status, row.type, row.code].filter((field) => field !== undefined)).toHaveLength(1);
  });
});

describe('readErrorBody: the server\'s own words from any shape', () => {
  test.each([
    ['OpenAI', { error: { message: 'Incorrect API key', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }, { message: 'Incorrect API key', type: 'invalid_request_error', code: 'invalid_api_key' }],
    ['Anthropic', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, { message: 'Overloaded', type: 'overloaded_error', code: undefined }],
    ['a gateway', { error: { code: 502, message: 'Provider returned error', metadata: { retry_after: 4 } } }, { message: 'Provider returned error', status: 502, retryAfter: 4 }],
    ['a web framework', { error: 'SyntaxError', message: 'Unexpected end of JSON input' }, { message: 'SyntaxError: Unexpected end of JSON input', type: undefined }],
    ['FastAPI', { detail: 'Not Found' }, { message: 'Not Found' }],
    ['Ollama', { error: "model 'llama9' not found" }, { message: "model 'llama9' not found" }],
    ['plain text', 'Service Unavailable\n', { message: 'Service Unavailable' }],
    ['an HTML error page', '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>', { message: '502 Bad Gateway' }],
  ])('%s', (_, body, expected) => {
    expect(readErrorBody(body)).toMatchObject(expected);
  });

  test('the wait a message states, in seconds', () => {
    expect(readErrorBody({ error: { message: 'Rate limit reached. Please try again in 20ms.' } }).retryAfter).toBe(0.02);
    expect(readErrorBody({ error: { message: 'Please try again in 1.5s.' } }).retryAfter).toBe(1.5);
    expect(readErrorBody({ error: { message: 'No wait stated.' } }).retryAfter).toBeUndefined();
  });

  test('a long message is cut to one line of at most 300 characters', () => {
    const message = readErrorBody(`line one\n${'x'.repeat(400)}`).message ?? '';
    expect(message).toHaveLength(300);
    expect(message).toMatch(/^line one x+…$/);
  });
});

import {
  BackendRegistry,
  FailurePolicy,
  LocalBackend,
  PAR,
  PLACED_PAR,
  Placement,
  Process,
  type ProcessContext,
  ProcessResult,
  UsageError,
} from '../lib';

// SPEC 5.10 and 6: a wrong argument throws a UsageError (a TypeError) at the call, naming the
// argument, what was expected and what was received.

const agent = Process('agent', () => ProcessResult.ok('done'));
const placement = new Placement({ model: 'claude-haiku-4-5-20250414', endpoint: 'anthropic' });
const body = (_ctx: ProcessContext): ProcessResult<string> => ProcessResult.ok('x');
const backend = { name: 'remote', execute: () => Promise.resolve(ProcessResult.ok()) };

/** Runs `call`, which must throw; returns what it threw. */
function thrownBy(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw a UsageError, but it returned');
}

/** A row: what is wrong, the call, then the error's argument, a fragment of `expected`, and `received`. */
type Row = [description: string, call: () => unknown, argument: string, expected: string, received: string];

function expectUsageError(call: () => unknown, argument: string, expected: string, received: string): void {
  const error = thrownBy(call);
  expect(error).toBeInstanceOf(UsageError);
  expect(error).toBeInstanceOf(TypeError);
  const usage = error as UsageError;
  expect(usage.name).toBe('UsageError');
  expect(usage.argument).toBe(argument);
  expect(usage.expected).toContain(expected);
  expect(usage.received).toBe(received);
  // The message alone is enough to fix the call.
  expect(usage.message).toBe(`${argument}: expected ${usage.expected}, received ${received}`);
}

describe('PLACED_PAR and PAR: wrong pairs and processes', () => {
  const rows: Row[] = [
    ['a number instead of a pair', () => PLACED_PAR(42 as never), 'PLACED_PAR argument 1', '[Process, Placement] pair', 'the number 42'],
    ['a pair of one element', () => PLACED_PAR([agent] as never), 'PLACED_PAR argument 1', '[Process, Placement] pair', 'an array of length 1'],
    ['a pair of four elements', () => PLACED_PAR([agent, placement, {}, 1] as never), 'PLACED_PAR argument 1', '[Process, Placement] pair', 'an array of length 4'],
    ['a third element that is not pair options', () => PLACED_PAR([agent, placement, 1] as never), 'PLACED_PAR argument 1[2]', 'pair options { hedge?, onStreamBreak?, timeout?, fallbackOn? }', 'the number 1'],
    ['a chain that is an empty array', () => PLACED_PAR([agent, []] as never), 'PLACED_PAR argument 1[1]', 'a non-empty array of Placements', 'an array of length 0'],
    ['a chain with something else than a Placement', () => PLACED_PAR([agent, [placement, 'haiku']] as never), 'PLACED_PAR argument 1[1][1]', 'a Placement', 'the string "haiku"'],
    ['a hedge without after', () => PLACED_PAR([agent, [placement, placement], { hedge: {} }] as never), 'PLACED_PAR argument 1[2].hedge.after', 'seconds > 0', 'undefined'],
    ['a hedge after 0 seconds', () => PLACED_PAR([agent, [placement, placement], { hedge: { after: 0 } }]), 'PLACED_PAR argument 1[2].hedge.after', 'seconds > 0', 'the number 0'],
    ['an unknown onStreamBreak', () => PLACED_PAR([agent, [placement, placement], { onStreamBreak: 'retry' }] as never), 'PLACED_PAR argument 1[2].onStreamBreak', 'one of "restart", "fail"', 'the string "retry"'],
    ['a typo in pair options', () => PLACED_PAR([agent, [placement, placement], { hedges: { after: 1 } }] as never), 'PLACED_PAR argument 1[2].hedges', 'one of the known options (hedge, onStreamBreak, timeout, fallbackOn)', 'an object with keys { after }'],
    ['a negative chain timeout', () => PLACED_PAR([agent, [placement, placement], { timeout: -1 }]), 'PLACED_PAR argument 1[2].timeout', 'seconds > 0', 'the number -1'],
    ['fallbackOn that is not a function', () => PLACED_PAR([agent, [placement, placement], { fallbackOn: true }] as never), 'PLACED_PAR argument 1[2].fallbackOn', 'a function (failure) => boolean', 'the boolean true'],
    ['orElse given a string', () => placement.orElse('haiku' as never), 'orElse(next)', 'a Placement or a PlacementChain', 'the string "haiku"'],
    ['orElse on a chain given a plain object', () => placement.orElse(placement).orElse({ model: 'haiku' } as never), 'orElse(next)', 'a Placement or a PlacementChain', 'an object with keys { model }'],
    ['an empty pair', () => PLACED_PAR([] as never), 'PLACED_PAR argument 1', '[Process, Placement] pair', 'an array of length 0'],
    ['a pair in the wrong order', () => PLACED_PAR([placement, agent] as never), 'PLACED_PAR argument 1[0]', 'a Process', 'an instance of Placement'],
    ['a pair whose first element is a plain function', () => PLACED_PAR([body, placement] as never), 'PLACED_PAR argument 1[0]', 'a Process', 'the function body'],
    ['a pair whose placement is a plain object', () => PLACED_PAR([agent, { model: 'opus' }] as never), 'PLACED_PAR argument 1[1]', 'a Placement', 'an object with keys { model }'],
    ['a pair whose placement is a string', () => PLACED_PAR([agent, 'anthropic'] as never), 'PLACED_PAR argument 1[1]', 'a Placement', 'the string "anthropic"'],
    ['a wrong second pair after a good one', () => PLACED_PAR([agent, placement], [agent] as never), 'PLACED_PAR argument 2', '[Process, Placement] pair', 'an array of length 1'],
    ['undefined in place of a pair', () => PLACED_PAR(agent, undefined as never), 'PLACED_PAR argument 2', '[Process, Placement] pair', 'undefined'],
    ['a string in PAR', () => PAR(agent, 'agent' as never), 'PAR argument 2', 'a Process', 'the string "agent"'],
    ['a function in PAR', () => PAR(body as never), 'PAR argument 1', 'a Process', 'the function body'],
    ['a pair in PAR, which takes processes only', () => PAR([agent, placement] as never), 'PAR argument 1', 'a Process', 'an array of length 2'],
    ['null in PAR', () => PAR(agent, null as never), 'PAR argument 2', 'a Process', 'null'],
  ];

  test.each(rows)('%s', (_description, call, argument, expected, received) => {
    expectUsageError(call, argument, expected, received);
  });
});

describe('PLACED_PAR and PAR: bad options', () => {
  const rows: Row[] = [
    ['an unknown option key (a typo)', () => PLACED_PAR(agent, { deadlin: 30 } as never), 'PLACED_PAR options.deadlin', 'one of the known options (onFailure, deadline, registry, scheduler, parent, healthCheckInterval, signal, telemetry)', 'the number 30'],
    ['telemetry that is not a boolean', () => PLACED_PAR(agent, { telemetry: 'off' } as never), 'PLACED_PAR options.telemetry', 'a boolean', 'the string "off"'],
    ['onFailure given as a string', () => PLACED_PAR(agent, { onFailure: 'halt' } as never), 'PLACED_PAR options.onFailure', 'a FailurePolicy', 'the string "halt"'],
    ['onFailure given as a plain object', () => PLACED_PAR(agent, { onFailure: { kind: 'halt' } } as never), 'PLACED_PAR options.onFailure', 'a FailurePolicy', 'an object with keys { kind }'],
    ['a deadline of 0', () => PLACED_PAR(agent, { deadline: 0 }), 'PLACED_PAR options.deadline', 'a number of seconds > 0 or a valid Date', 'the number 0'],
    ['a negative deadline', () => PLACED_PAR(agent, { deadline: -5 }), 'PLACED_PAR options.deadline', 'seconds > 0', 'the number -5'],
    ['a NaN deadline', () => PLACED_PAR(agent, { deadline: Number.NaN }), 'PLACED_PAR options.deadline', 'seconds > 0', 'the number NaN'],
    ['an Infinity deadline', () => PLACED_PAR(agent, { deadline: Number.POSITIVE_INFINITY }), 'PLACED_PAR options.deadline', 'seconds > 0', 'the number Infinity'],
    ['an invalid Date deadline', () => PLACED_PAR(agent, { deadline: new Date('not a date') }), 'PLACED_PAR options.deadline', 'a valid Date', 'an invalid Date'],
    ['a deadline given as a string', () => PLACED_PAR(agent, { deadline: '30' } as never), 'PLACED_PAR options.deadline', 'seconds > 0', 'the string "30"'],
    ['a registry that is not a BackendRegistry', () => PLACED_PAR(agent, { registry: { get: () => backend } } as never), 'PLACED_PAR options.registry', 'a BackendRegistry', 'an object with keys { get }'],
    ['a scheduler without schedule()', () => PLACED_PAR(agent, { scheduler: { now: () => 0 } } as never), 'PLACED_PAR options.scheduler', 'SchedulerLike', 'an object with keys { now }'],
    ['a parent that is an empty string', () => PLACED_PAR(agent, { parent: '' }), 'PLACED_PAR options.parent', 'a non-empty string', 'the string ""'],
    ['a parent that is not a string', () => PLACED_PAR(agent, { parent: 7 } as never), 'PLACED_PAR options.parent', 'a non-empty string', 'the number 7'],
    ['a healthCheckInterval of 0', () => PLACED_PAR(agent, { healthCheckInterval: 0 }), 'PLACED_PAR options.healthCheckInterval', 'seconds > 0', 'the number 0'],
    ['a bad option in PAR', () => PAR(agent, { deadline: 0 }), 'PAR options.deadline', 'seconds > 0', 'the number 0'],
    ['an unknown option in PAR', () => PAR(agent, { retries: 3 } as never), 'PAR options.retries', 'one of the known options', 'the number 3'],
  ];

  test.each(rows)('%s', (_description, call, argument, expected, received) => {
    expectUsageError(call, argument, expected, received);
  });

  test('valid options are accepted: a Date deadline, a fractional deadline, every policy', () => {
    expect(() => PLACED_PAR(agent, { deadline: new Date(Date.now() + 1000) })).not.toThrow();
    expect(() => PLACED_PAR(agent, { deadline: 0.001 })).not.toThrow();
    expect(() => PLACED_PAR(agent, { onFailure: FailurePolicy.COLLECT, parent: 'research', registry: new BackendRegistry() })).not.toThrow();
    expect(() => PAR(agent, { onFailure: FailurePolicy.retry({ maxAttempts: 2 }) })).not.toThrow();
  });
});

describe('new Placement(...): bad fields', () => {
  const rows: Row[] = [
    ['model is an empty string', () => new Placement({ model: '' }), 'Placement fields.model', 'a non-empty string', 'the string ""'],
    ['model is not a string', () => new Placement({ model: 4 } as never), 'Placement fields.model', 'a non-empty string', 'the number 4'],
    ['endpoint is an empty string', () => new Placement({ endpoint: '' }), 'Placement fields.endpoint', 'a non-empty string', 'the string ""'],
    ['endpoint is not a string', () => new Placement({ endpoint: { host: 'x' } } as never), 'Placement fields.endpoint', 'a non-empty string', 'an object with keys { host }'],
    ['config is an array', () => new Placement({ config: [1, 2] } as never), 'Placement fields.config', 'a plain object of JSON-like values', 'an array of length 2'],
    ['config is a string', () => new Placement({ config: 'temperature=0.7' } as never), 'Placement fields.config', 'a plain object', 'the string "temperature=0.7"'],
    ['config is a Map', () => new Placement({ config: new Map([['temperature', 0.7]]) } as never), 'Placement fields.config', 'a plain object', 'an instance of Map'],
    ['config holds a function', () => new Placement({ config: { retry: body } } as never), 'Placement fields.config.retry', 'a JSON-like value', 'the function body'],
    ['config holds a function deep inside', () => new Placement({ config: { sampling: { pick: body } } } as never), 'Placement fields.config.sampling.pick', 'a JSON-like value', 'the function body'],
    ['config holds a Date', () => new Placement({ config: { since: new Date(0) } } as never), 'Placement fields.config.since', 'a JSON-like value', 'the Date 1970-01-01T00:00:00.000Z'],
    ['config holds a non-finite number', () => new Placement({ config: { temperature: Number.NaN } }), 'Placement fields.config.temperature', 'finite', 'the number NaN'],
    ['config holds undefined', () => new Placement({ config: { stop: undefined } } as never), 'Placement fields.config.stop', 'a JSON-like value', 'undefined'],
    ['fields is a string', () => new Placement('opus' as never), 'Placement fields', 'an object { model?, endpoint?, config? }', 'the string "opus"'],
    ['fields is null', () => new Placement(null as never), 'Placement fields', 'an object { model?, endpoint?, config? }', 'null'],
    ['fields has an unknown key (a typo)', () => new Placement({ modle: 'opus' } as never), 'Placement fields.modle', 'model, endpoint, config', 'the string "opus"'],
  ];

  test.each(rows)('%s', (_description, call, argument, expected, received) => {
    expectUsageError(call, argument, expected, received);
  });

  test('a cyclic config is a UsageError, not a stack overflow', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    expectUsageError(() => new Placement({ config: cyclic } as never), 'Placement fields.config.self', 'without cycles', 'an object with keys { a, self }');
  });
});

describe('BackendRegistry: bad registrations and options', () => {
  const register = (name: unknown, candidate: unknown) => () => new BackendRegistry().register(name as never, candidate as never);
  const rows: Row[] = [
    ['name is an empty string', register('', backend), 'register(name)', 'a non-empty string', 'the string ""'],
    ['name is not a string', register(3, backend), 'register(name)', 'a non-empty string', 'the number 3'],
    ['backend is null', register('remote', null), 'register(backend)', 'an ExecutionBackend', 'null'],
    ['backend is a function', register('remote', body), 'register(backend)', 'an ExecutionBackend', 'the function body'],
    ['backend has no name', register('remote', { execute: backend.execute }), 'register(backend).name', 'a non-empty string', 'undefined'],
    ['backend has an empty name', register('remote', { ...backend, name: '' }), 'register(backend).name', 'a non-empty string', 'the string ""'],
    ['backend has no execute', register('remote', { name: 'remote' }), 'register(backend).execute', 'a function execute(process, ctx)', 'undefined'],
    ['execute is not a function', register('remote', { name: 'remote', execute: 'run' }), 'register(backend).execute', 'a function execute(process, ctx)', 'the string "run"'],
    ['concurrencyLimit is 0', register('remote', { ...backend, concurrencyLimit: 0 }), 'register(backend).concurrencyLimit', 'a whole number >= 1 or Infinity', 'the number 0'],
    ['concurrencyLimit is 1.5', register('remote', { ...backend, concurrencyLimit: 1.5 }), 'register(backend).concurrencyLimit', 'a whole number >= 1 or Infinity', 'the number 1.5'],
    ['concurrencyLimit is -1', register('remote', { ...backend, concurrencyLimit: -1 }), 'register(backend).concurrencyLimit', 'a whole number >= 1 or Infinity', 'the number -1'],
    ['concurrencyLimit is the string "3"', register('remote', { ...backend, concurrencyLimit: '3' }), 'register(backend).concurrencyLimit', 'a whole number >= 1 or Infinity', 'the string "3"'],
    ['concurrencyLimit is NaN', register('remote', { ...backend, concurrencyLimit: Number.NaN }), 'register(backend).concurrencyLimit', 'a whole number >= 1 or Infinity', 'the number NaN'],
    ['healthCheck is not a function', register('remote', { ...backend, healthCheck: true }), 'register(backend).healthCheck', 'a function healthCheck()', 'the boolean true'],
    ['options is not an object', () => new BackendRegistry('strict' as never), 'BackendRegistry options', 'an object { default?, strict? }', 'the string "strict"'],
    ['options.strict is not a boolean', () => new BackendRegistry({ strict: 'yes' } as never), 'BackendRegistry options.strict', 'a boolean', 'the string "yes"'],
    ['options has an unknown key (a typo)', () => new BackendRegistry({ stict: true } as never), 'BackendRegistry options.stict', 'default, strict', 'the boolean true'],
    ['options.default is not a backend', () => new BackendRegistry({ default: { name: 'x' } } as never), 'BackendRegistry options.default.execute', 'a function execute(process, ctx)', 'undefined'],
    ['get() is given something other than a Placement', () => new BackendRegistry().get({ endpoint: 'anthropic' } as never), 'get(placement)', 'a Placement', 'an object with keys { endpoint }'],
  ];

  test.each(rows)('%s', (_description, call, argument, expected, received) => {
    expectUsageError(call, argument, expected, received);
  });

  test('concurrencyLimit Infinity, 1 and a missing one are accepted', () => {
    expect(() => register('a', { ...backend, concurrencyLimit: Number.POSITIVE_INFINITY })()).not.toThrow();
    expect(() => register('a', { ...backend, concurrencyLimit: 1 })()).not.toThrow();
    expect(() => register('a', backend)()).not.toThrow();
  });
});

describe('FailurePolicy.retry: bad options', () => {
  const retry = (options: unknown) => () => FailurePolicy.retry(options as never);
  const rows: Row[] = [
    ['maxAttempts is 0', retry({ maxAttempts: 0 }), 'FailurePolicy.retry(options).maxAttempts', 'a whole number >= 1', 'the number 0'],
    ['maxAttempts is 1.5', retry({ maxAttempts: 1.5 }), 'FailurePolicy.retry(options).maxAttempts', 'a whole number >= 1', 'the number 1.5'],
    ['maxAttempts is the string "3"', retry({ maxAttempts: '3' }), 'FailurePolicy.retry(options).maxAttempts', 'a whole number >= 1', 'the string "3"'],
    ['maxAttempts is missing', retry({ backoff: 'linear' }), 'FailurePolicy.retry(options).maxAttempts', 'a whole number >= 1', 'undefined'],
    ['backoff is "fast"', retry({ maxAttempts: 3, backoff: 'fast' }), 'FailurePolicy.retry(options).backoff', 'one of "exponential", "linear", "constant"', 'the string "fast"'],
    ['baseDelay is -1', retry({ maxAttempts: 3, baseDelay: -1 }), 'FailurePolicy.retry(options).baseDelay', 'a finite number of seconds >= 0', 'the number -1'],
    ['baseDelay is NaN', retry({ maxAttempts: 3, baseDelay: Number.NaN }), 'FailurePolicy.retry(options).baseDelay', 'a finite number of seconds >= 0', 'the number NaN'],
    ['baseDelay is Infinity', retry({ maxAttempts: 3, baseDelay: Number.POSITIVE_INFINITY }), 'FailurePolicy.retry(options).baseDelay', 'a finite number of seconds >= 0', 'the number Infinity'],
    ['options has an unknown key (a typo)', retry({ maxAttempts: 3, basedelay: 1 }), 'FailurePolicy.retry(options).basedelay', 'maxAttempts, backoff, baseDelay', 'the number 1'],
    ['options is missing', retry(undefined), 'FailurePolicy.retry(options)', 'an object { maxAttempts, backoff?, baseDelay?, maxDelay? }', 'undefined'],
    ['options is a number', retry(3), 'FailurePolicy.retry(options)', 'an object { maxAttempts, backoff?, baseDelay?, maxDelay? }', 'the number 3'],
  ];

  test.each(rows)('%s', (_description, call, argument, expected, received) => {
    expectUsageError(call, argument, expected, received);
  });
});

describe('new LocalBackend(...): bad options', () => {
  const rows: Row[] = [
    ['concurrencyLimit is 0', () => new LocalBackend({ concurrencyLimit: 0 }), 'LocalBackend options.concurrencyLimit', 'a whole number >= 1 or Infinity', 'the number 0'],
    ['concurrencyLimit is 1.5', () => new LocalBackend({ concurrencyLimit: 1.5 }), 'LocalBackend options.concurrencyLimit', 'a whole number >= 1 or Infinity', 'the number 1.5'],
    ['concurrencyLimit is -1', () => new LocalBackend({ concurrencyLimit: -1 }), 'LocalBackend options.concurrencyLimit', 'a whole number >= 1 or Infinity', 'the number -1'],
    ['concurrencyLimit is the string "3"', () => new LocalBackend({ concurrencyLimit: '3' } as never), 'LocalBackend options.concurrencyLimit', 'a whole number >= 1 or Infinity', 'the string "3"'],
    ['options has an unknown key (a typo)', () => new LocalBackend({ concurency: 2 } as never), 'LocalBackend options.concurency', 'concurrency', 'the number 2'],
    ['options is a number', () => new LocalBackend(4 as never), 'LocalBackend options', 'an object { concurrencyLimit? }', 'the number 4'],
    ['concurrencyLimit and its deprecated alias concurrency disagree', () => new LocalBackend({ concurrencyLimit: 2, concurrency: 3 }), 'LocalBackend options.concurrency', 'to be left out (it is the deprecated name of concurrencyLimit, given as 2)', 'the number 3'],
  ];

  test.each(rows)('%s', (_description, call, argument, expected, received) => {
    expectUsageError(call, argument, expected, received);
  });
});

describe('Process: factory and copy misuse', () => {
  const factory = Process as unknown as (...args: unknown[]) => unknown;
  class Unnamed extends Process<string> {
    constructor() {
      super({ name: '' });
    }
    run(): ProcessResult<string> {
      return ProcessResult.ok('x');
    }
  }
  const rows: Row[] = [
    ['an anonymous function without a name', () => Process(() => ProcessResult.ok()), 'Process(fn)', 'a named function, or a name', 'an anonymous function'],
    ['a non-function', () => factory(42), 'Process(fn)', 'a function (ctx) =>', 'the number 42'],
    ['a name with a non-function body', () => factory('agent', 'run'), 'Process(..., fn)', 'a function (ctx) =>', 'the string "run"'],
    ['an empty name', () => Process('', body), 'Process(name, fn) name', 'a non-empty string', 'the string ""'],
    ['too many arguments', () => factory('agent', body, {}), 'Process(...)', 'Process(fn), Process(name, fn) or Process(definition, fn)', '3 arguments'],
    ['no arguments', () => factory(), 'Process(...)', 'Process(fn), Process(name, fn) or Process(definition, fn)', '0 arguments'],
    ['a definition that is an array', () => factory([], body), 'Process(definition, fn) definition', 'an object { name?, placement?, input?, output? }', 'an array of length 0'],
    ['a definition without a name and an anonymous body', () => Process({}, () => ProcessResult.ok()), 'Process(definition, fn) definition.name', 'a non-empty string', 'undefined'],
    ['a definition with an empty name', () => Process({ name: '' }, body), 'Process definition.name', 'a non-empty string', 'the string ""'],
    ['a placement that is a plain object', () => Process({ name: 'agent', placement: { model: 'opus' } as never }, body), 'Process definition.placement', 'a Placement', 'an object with keys { model }'],
    ['an input schema that is not a zod schema', () => Process({ name: 'agent', input: { query: 'string' } as never }, body), 'Process definition.input', 'a zod schema', 'an object with keys { query }'],
    ['an output schema that is not a zod schema', () => Process({ name: 'agent', output: 'string' as never }, body), 'Process definition.output', 'a zod schema', 'the string "string"'],
    ['a subclass given an empty name', () => new Unnamed(), 'Process definition.name', 'a non-empty string', 'the string ""'],
    ['withName with an empty name', () => agent.withName(''), 'withName(name)', 'a non-empty string', 'the string ""'],
    ['withName on a group with a non-string', () => PAR(agent).withName(5 as never), 'withName(name)', 'a non-empty string', 'the number 5'],
    ['withInput on a group', () => PAR(agent).withInput({ query: 'x' }), 'withInput(value)', 'no input', 'an object with keys { query }'],
  ];

  test.each(rows)('%s', (_description, call, argument, expected, received) => {
    expectUsageError(call, argument, expected, received);
  });
});

describe('ProcessResult misuse', () => {
  test('reading failure of a success is a UsageError', () => {
    expectUsageError(() => ProcessResult.ok(1).failure, 'result.failure', 'a failed ProcessResult', 'a successful ProcessResult');
  });
});

import fc from 'fast-check';
import { asyncScheduler, lastValueFrom, materialize, of, toArray } from 'rxjs';
import { BackendRegistry, FailurePolicy, LocalBackend, PAR, PLACED_PAR, Placement, Process, ProcessResult, UsageError, mapPlaced } from '../../lib';
import { z } from 'zod';
import { type CaseCounts, checkAsyncProperty, checkProperty } from './support/config';

// Bad-input fuzzing: every public entry fed random wrong values throws a UsageError naming the
// argument (and saying what was expected and received), never another exception, and never accepts
// the value only to crash later.

const RUNS: CaseCounts = { quick: 200, full: 2_000 };

/** Anything fast-check can make, plus the values that most often slip through validation. */
const anything: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.anything({ maxDepth: 2, withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withObjectString: true, withTypedArray: true, withSparseArray: true }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -0,
      0,
      -1,
      1.5,
      2 ** 53,
      '',
      ' ',
      '0',
      Symbol('wrong'),
      () => 1,
      function named() {
        return 1;
      },
      new Date(Number.NaN),
      new Error('not an argument'),
      Promise.resolve(1),
      new (class Custom {})(),
      Object.create(null),
      new Map([['model', 'opus']]),
      [],
      [1, 2],
      true,
      null,
    ),
  },
);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function isSchedulerLike(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return typeof candidate.now === 'function' && typeof candidate.schedule === 'function';
}

const isNonEmptyString = (value: unknown): boolean => typeof value === 'string' && value.length > 0;
const wrongName = anything.filter((value) => value !== undefined && !isNonEmptyString(value));
const wrongNonObject = anything.filter((value) => value !== undefined && !isPlainObject(value));
const wrongPositiveInteger = anything.filter((value) => value !== undefined && !(typeof value === 'number' && Number.isInteger(value) && value >= 1));
const wrongCap = anything.filter((value) => value !== undefined && !(typeof value === 'number' && ((Number.isInteger(value) && value >= 1) || value === Number.POSITIVE_INFINITY)));
const wrongSeconds = anything.filter((value) => value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value >= 0));
const wrongDeadline = anything.filter(
  (value) => value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value > 0) && !(value instanceof Date && !Number.isNaN(value.getTime())),
);
const wrongBoolean = anything.filter((value) => value !== undefined && typeof value !== 'boolean');
const wrongFunction = anything.filter((value) => value !== undefined && typeof value !== 'function');
const unknownKey = fc.string({ minLength: 1, maxLength: 8 }).filter((key) => !['model', 'endpoint', 'config', 'name', 'placement', 'input', 'output', '__proto__', 'constructor'].includes(key));

/** A value that is not JSON-like, somewhere inside a config object. */
const nonJsonLeaf = fc.constantFrom<unknown>(Number.NaN, Number.POSITIVE_INFINITY, undefined, () => 1, new Date(0), new Map(), 10n, Symbol('leaf'), new (class Custom {})(), new Set([1]));
const badConfig: fc.Arbitrary<unknown> = fc.oneof(
  wrongNonObject,
  fc.tuple(fc.string({ minLength: 1, maxLength: 5 }), nonJsonLeaf, fc.constantFrom('top', 'nested', 'array')).map(([key, leaf, where]) =>
    where === 'top' ? { [key]: leaf } : where === 'nested' ? { outer: { [key]: leaf } } : { list: [1, leaf] },
  ),
  fc.constant(null).map(() => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    return cyclic;
  }),
);

/** Calls `call`, which must throw a UsageError whose argument starts with `argument`. */
function expectUsageError(call: () => unknown, argument: string): void {
  let thrown: unknown;
  let returned: unknown;
  try {
    returned = call();
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) throw new Error(`expected a UsageError naming ${argument}, but the call returned ${String(returned)}`);
  if (!(thrown instanceof UsageError)) {
    throw new Error(`expected a UsageError naming ${argument}, but it threw ${thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : typeof thrown}`);
  }
  if (!thrown.argument.startsWith(argument)) throw new Error(`the UsageError names "${thrown.argument}", expected "${argument}..." (${thrown.message})`);
  if (!thrown.message.startsWith(`${thrown.argument}: expected `) || !thrown.message.includes(', received ')) throw new Error(`unreadable message: ${thrown.message}`);
  if (!(thrown instanceof TypeError)) throw new Error('a UsageError must be a TypeError');
}

const valid = {
  process: Process('valid', () => ProcessResult.ok(1)),
  placement: new Placement({ model: 'opus', endpoint: 'anthropic' }),
};

function property<Ts extends [unknown, ...unknown[]]>(name: string, arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> }, predicate: (...args: Ts) => void, runs = RUNS): void {
  test(name, () => {
    checkProperty(name, fc.property(...arbitraries, predicate), runs);
  });
}

describe('bad input: every public entry throws a UsageError naming the argument', () => {
  property('new Placement(fields) with fields that are not an object', [wrongNonObject], (fields) => {
    expectUsageError(() => new Placement(fields as never), 'Placement fields');
  });

  property(
    'new Placement(fields) with a wrong model, endpoint or config, or an unknown key',
    [fc.constantFrom('model', 'endpoint', 'config', 'unknown'), wrongName, badConfig, unknownKey, anything],
    (which, name, config, key, value) => {
      const fields: Record<string, unknown> = { model: 'opus', endpoint: 'anthropic' };
      if (which === 'model' || which === 'endpoint') fields[which] = name;
      else if (which === 'config') fields.config = config;
      else fields[key] = value === undefined ? 1 : value;
      expectUsageError(() => new Placement(fields), 'Placement fields');
    },
  );

  property('Process(fn) with something that is not a named function', [fc.oneof(wrongFunction, fc.constant(() => ProcessResult.ok()))], (body) => {
    expectUsageError(() => (Process as (...args: unknown[]) => unknown)(body), 'Process(fn)');
  });

  property('Process(name, fn) with a wrong body', [fc.oneof(fc.constant('name'), fc.constant({ name: 'defined' })), wrongFunction], (first, body) => {
    expectUsageError(() => (Process as (...args: unknown[]) => unknown)(first, body), 'Process(..., fn)');
  });

  property('Process(name, fn) with a name that is neither a non-empty string nor a definition', [wrongName.filter((name) => !isPlainObject(name) || Array.isArray(name))], (name) => {
    expectUsageError(() => (Process as (...args: unknown[]) => unknown)(name, function body() {
      return ProcessResult.ok();
    }), 'Process(');
  });

  property(
    'Process(definition, fn) with a wrong name, placement, input or output',
    [fc.constantFrom('name', 'placement', 'input', 'output'), wrongName, anything],
    (field, name, value) => {
      const wrong = field === 'name' ? name : value;
      // A zod schema or a Placement would be right for these fields.
      fc.pre(!(field === 'placement' && (wrong === undefined || wrong instanceof Placement)));
      fc.pre(!((field === 'input' || field === 'output') && (wrong === undefined || (typeof wrong === 'object' && wrong !== null && 'safeParse' in wrong))));
      expectUsageError(() => Process({ name: 'defined', [field]: wrong } as never, () => ProcessResult.ok()), 'Process');
    },
  );

  property('Process(definition, fn) with an unknown key (a typo of a field)', [unknownKey, anything], (key, value) => {
    expectUsageError(() => Process({ name: 'defined', [key]: value ?? 1 } as never, () => ProcessResult.ok()), 'Process');
  });

  property('Process(...) with a wrong number of arguments', [fc.array(anything, { minLength: 3, maxLength: 5 })], (args) => {
    expectUsageError(() => (Process as (...args: unknown[]) => unknown)(...args), 'Process(');
    expectUsageError(() => (Process as (...args: unknown[]) => unknown)(), 'Process(');
  });

  property('process.withName(name) with a wrong name', [wrongName], (name) => {
    expectUsageError(() => valid.process.withName(name as never), 'withName(name)');
  });

  /** An item of a group that is neither a process nor a [Process, Placement] pair, nor a plain object (options). */
  const wrongItem: fc.Arbitrary<unknown> = fc.oneof(
    anything.filter((value) => !isPlainObject(value) && !Array.isArray(value)),
    fc.constant(valid.placement),
    fc.constant([valid.process]),
    fc.constant([valid.process, valid.placement, valid.placement]),
    fc.constant([valid.placement, valid.process]),
    anything.map((value) => [value, valid.placement]),
    anything.filter((value) => !(value instanceof Placement)).map((value) => [valid.process, value]),
  );

  property('PLACED_PAR(...) with an item that is not a pair or a process', [fc.nat({ max: 3 }), fc.nat({ max: 3 }), wrongItem], (before, after, item) => {
    const pairs = (count: number) => Array.from({ length: count }, () => [valid.process, valid.placement] as const);
    const args = [...pairs(before), item, ...pairs(after)];
    expectUsageError(() => (PLACED_PAR as (...args: unknown[]) => unknown)(...args), `PLACED_PAR argument ${before + 1}`);
  });

  property('PAR(...) with an item that is not a process', [fc.nat({ max: 3 }), fc.oneof(wrongItem, fc.constant([valid.process, valid.placement]))], (before, item) => {
    const args = [...Array.from({ length: before }, () => valid.process), item];
    expectUsageError(() => (PAR as (...args: unknown[]) => unknown)(...args), `PAR argument ${before + 1}`);
  });

  /** Options with one wrong field (or an unknown key). */
  const wrongRunOptions = fc.oneof(
    wrongDeadline.map((deadline) => ({ deadline })),
    anything.filter((value) => value !== undefined && !(value instanceof FailurePolicy)).map((onFailure) => ({ onFailure })),
    anything.filter((value) => value !== undefined && !(value instanceof BackendRegistry)).map((registry) => ({ registry })),
    anything.filter((value) => value !== undefined && !isSchedulerLike(value)).map((scheduler) => ({ scheduler })),
    wrongName.map((parent) => ({ parent })),
    fc.tuple(unknownKey.filter((key) => !['onFailure', 'deadline', 'registry', 'scheduler', 'parent', 'ordered'].includes(key)), anything).map(([key, value]) => ({ [key]: value ?? 1 })),
  );

  property('PLACED_PAR(pairs, options) and PAR(processes, options) with a wrong option', [wrongRunOptions], (options) => {
    expectUsageError(() => PLACED_PAR([valid.process, valid.placement], options as never), 'PLACED_PAR options');
    expectUsageError(() => PAR(valid.process, options as never), 'PAR options');
  });

  property('new BackendRegistry(options) with wrong options', [fc.oneof(
    wrongNonObject.filter((value) => value !== null),
    fc.constant(null),
    wrongBoolean.map((strict) => ({ strict })),
    anything.filter((value) => value !== undefined && !(isPlainObject(value) || typeof value === 'object')).map((fallback) => ({ default: fallback })),
    fc.tuple(unknownKey.filter((key) => key !== 'default' && key !== 'strict'), anything).map(([key, value]) => ({ [key]: value ?? 1 })),
  )], (options) => {
    expectUsageError(() => new BackendRegistry(options as never), 'BackendRegistry options');
  });

  const backendWith = (fields: Record<string, unknown>) => ({ name: 'fake', execute: () => of(ProcessResult.ok()), ...fields });
  /** Something that is not a backend: not an object, or one member wrong. */
  const wrongBackend: fc.Arbitrary<unknown> = fc.oneof(
    anything.filter((value) => typeof value !== 'object' || value === null || Array.isArray(value)),
    wrongName.map((name) => backendWith({ name })),
    wrongFunction.map((execute) => backendWith({ execute })),
    wrongCap.map((concurrencyLimit) => backendWith({ concurrencyLimit })),
    wrongFunction.map((healthCheck) => backendWith({ healthCheck })),
    fc.constant({ execute: () => of(ProcessResult.ok()) }),
    fc.constant({ name: 'no-execute' }),
  );

  property('registry.register(name, backend) with a wrong name or backend', [fc.boolean(), wrongName, wrongBackend], (badName, name, backend) => {
    const registry = new BackendRegistry();
    if (badName) expectUsageError(() => registry.register(name as never, new LocalBackend()), 'register(name)');
    else expectUsageError(() => registry.register('fake', backend as never), 'register(backend)');
    expect(registry.names).toEqual([]);
  });

  property('registry.get(placement) with something that is not a Placement', [anything.filter((value) => !(value instanceof Placement))], (placement) => {
    expectUsageError(() => new BackendRegistry().get(placement as never), 'get(placement)');
  });

  property('FailurePolicy.retry(options) with wrong options', [fc.oneof(
    wrongNonObject,
    fc.constant({}),
    wrongPositiveInteger.map((maxAttempts) => ({ maxAttempts })),
    anything.filter((value) => value !== undefined && !['exponential', 'linear', 'constant'].includes(value as string)).map((backoff) => ({ maxAttempts: 2, backoff })),
    wrongSeconds.map((baseDelay) => ({ maxAttempts: 2, baseDelay })),
    fc.tuple(unknownKey.filter((key) => !['maxAttempts', 'backoff', 'baseDelay'].includes(key)), anything).map(([key, value]) => ({ maxAttempts: 2, [key]: value ?? 1 })),
  )], (options) => {
    expectUsageError(() => FailurePolicy.retry(options as never), 'FailurePolicy.retry(options)');
  });

  property('new LocalBackend(options) with wrong options', [fc.oneof(
    wrongNonObject,
    wrongCap.map((concurrency) => ({ concurrency })),
    fc.tuple(unknownKey.filter((key) => key !== 'concurrency'), anything).map(([key, value]) => ({ [key]: value ?? 1 })),
  )], (options) => {
    expectUsageError(() => new LocalBackend(options as never), 'LocalBackend options');
  });

  property('mapPlaced(project, options) with a wrong project or option', [fc.boolean(), wrongFunction, fc.oneof(wrongRunOptions, wrongBoolean.map((ordered) => ({ ordered })))], (badProject, project, options) => {
    if (badProject) expectUsageError(() => mapPlaced(project as never), 'mapPlaced(project)');
    else expectUsageError(() => mapPlaced(() => valid.process, options as never), 'mapPlaced options');
  });

  test('mapPlaced whose project returns a wrong item errors the stream with a UsageError naming it (never a crash)', async () => {
    const name = 'mapPlaced project returning a wrong item';
    await checkAsyncProperty(
      name,
      fc.asyncProperty(fc.oneof(wrongItem, anything.filter((value) => !Array.isArray(value) && !(value instanceof Placement))), async (item) => {
        fc.pre(!(item !== null && typeof item === 'object' && Symbol.for('stbass.process') in item));
        const notifications = await lastValueFrom(of('question').pipe(mapPlaced(() => item as never, { scheduler: asyncScheduler }), materialize(), toArray()));
        const last = notifications[notifications.length - 1];
        const error = last?.kind === 'E' ? (last.error as unknown) : undefined;
        if (!(error instanceof UsageError)) throw new Error(`the stream ended with ${last?.kind ?? 'nothing'} instead of a UsageError`);
        if (!error.argument.startsWith('mapPlaced project(value, 0) result')) throw new Error(`the UsageError names ${error.argument}`);
      }),
      RUNS,
    );
  });

  test('accepted deadlines never fire early: however far away, a quick run succeeds', async () => {
    const quick = Process('quick', () => new Promise<ProcessResult>((resolve) => setTimeout(() => resolve(ProcessResult.ok('done')), 5)));
    await checkAsyncProperty(
      'accepted deadlines never fire early',
      fc.asyncProperty(fc.oneof(fc.double({ min: 1, max: 1e12, noNaN: true }), fc.integer({ min: 1, max: 10_000 }).map((days) => new Date(Date.now() + days * 86_400_000))), async (deadline) => {
        const result = await PLACED_PAR(quick, { deadline }).run();
        if (!result.isOk) throw new Error(`deadline ${deadline instanceof Date ? deadline.toISOString() : `${deadline} s`}: ${result.failures[0]?.summary ?? ''}`);
      }),
      { quick: 20, full: 100 },
    );
  });

  test('a zod schema where one is expected is accepted (the oracle of the Process property)', () => {
    expect(() => Process({ name: 'schema', input: z.string(), output: z.number() }, () => ProcessResult.ok(1))).not.toThrow();
  });
});

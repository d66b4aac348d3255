import { EMPTY, Observable, of, throwError } from 'rxjs';
import { z } from 'zod';
import {
  InvalidResultError,
  PAR,
  PLACED_PAR,
  Placement,
  Process,
  ProcessContext,
  ProcessResult,
  ValidationError,
  isProcess,
} from '../../lib';

const ctxFor = (processName: string, fields: Partial<ConstructorParameters<typeof ProcessContext>[0]> = {}): ProcessContext =>
  new ProcessContext({ processName, ...fields });

describe('Process', () => {
  describe('factory forms', () => {
    test('Process(fn) takes its name from the named function', async () => {
      function summarise(): ProcessResult<string> {
        return ProcessResult.ok('summary');
      }
      const process = Process(summarise);
      expect(process.name).toBe('summarise');
      expect((await process.execute(ctxFor('summarise'))).value).toBe('summary');
    });

    test('Process(name, fn) uses the explicit name, even over a named function', () => {
      function body(): ProcessResult {
        return ProcessResult.ok();
      }
      expect(Process('classifier', body).name).toBe('classifier');
      expect(Process('classifier', () => ProcessResult.ok()).name).toBe('classifier');
    });

    test('Process(definition, fn) takes a name, default placement and schemas', () => {
      const haiku = new Placement({ model: 'claude-haiku-4-5-20250414', endpoint: 'anthropic' });
      const input = z.object({ text: z.string() });
      const output = z.string();
      const process = Process({ name: 'classifier', placement: haiku, input, output }, () => ProcessResult.ok('label'));
      expect(process.name).toBe('classifier');
      expect(process.placement).toBe(haiku);
      expect(process.input).toBe(input);
      expect(process.output).toBe(output);
    });

    test('Process(definition, fn) falls back to the function name', () => {
      function embed(): ProcessResult {
        return ProcessResult.ok();
      }
      expect(Process({}, embed).name).toBe('embed');
    });

    test('a process without a placement has none, and is not optional', () => {
      const process = Process('plain', () => ProcessResult.ok());
      expect(process.placement).toBeUndefined();
      expect(process.isOptional).toBe(false);
    });
  });

  describe('subclass form', () => {
    class Researcher extends Process<string> {
      run(ctx: ProcessContext): Promise<ProcessResult<string>> {
        return Promise.resolve(ProcessResult.ok(`researched ${String(ctx.input)}`));
      }
    }

    test('the name defaults to the class name', () => {
      expect(new Researcher().name).toBe('Researcher');
    });

    test('a definition passed to super names and places it', () => {
      const opus = new Placement({ model: 'claude-opus-4-5-20250414' });
      class Writer extends Process<string> {
        constructor() {
          super({ name: 'writer', placement: opus });
        }
        run(): ProcessResult<string> {
          return ProcessResult.ok('draft');
        }
      }
      const writer = new Writer();
      expect(writer.name).toBe('writer');
      expect(writer.placement).toBe(opus);
    });

    test('execute runs the subclass run with the context', async () => {
      const result = await new Researcher().execute(ctxFor('Researcher', { input: 'rxjs' }));
      expect(result.value).toBe('researched rxjs');
    });
  });

  describe('execute never rejects', () => {
    const cases: [string, () => unknown, (error: Error) => void][] = [
      [
        'a synchronous throw',
        () => {
          throw new Error('rate limited');
        },
        (error) => expect(error.message).toBe('rate limited'),
      ],
      ['a rejected promise', () => Promise.reject(new Error('timeout')), (error) => expect(error.message).toBe('timeout')],
      ['an Observable that errors', () => throwError(() => new RangeError('bad token')), (error) => expect(error).toBeInstanceOf(RangeError)],
      [
        'an Observable that completes without a result',
        () => EMPTY,
        (error) => {
          expect(error).toBeInstanceOf(InvalidResultError);
          expect(error.message).toContain('completed without emitting');
        },
      ],
      [
        'a returned value that is not a ProcessResult',
        () => 42,
        (error) => {
          expect(error).toBeInstanceOf(InvalidResultError);
          expect((error as InvalidResultError).received).toBe(42);
          expect(error.message).toContain('received the number 42');
        },
      ],
      ['a promise of a value that is not a ProcessResult', () => Promise.resolve('text'), (error) => expect(error).toBeInstanceOf(InvalidResultError)],
      ['an Observable whose last emission is not a ProcessResult', () => of(ProcessResult.ok(1), 'oops'), (error) => expect(error).toBeInstanceOf(InvalidResultError)],
      ['a returned undefined', () => undefined, (error) => expect(error).toBeInstanceOf(InvalidResultError)],
    ];

    test.each(cases)('%s becomes a failed ProcessResult', async (_description, body, check) => {
      const process = Process('agent', body as () => ProcessResult);
      const result = await process.execute(ctxFor('agent'));
      expect(result.isFail).toBe(true);
      expect(result.failure.processName).toBe('agent');
      check(result.failure.error);
    });

    test('a thrown non-Error is wrapped into an Error whose cause is the original', async () => {
      const thrown = { code: 429, retryAfter: 3 };
      const process = Process('agent', () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point of the test
        throw thrown;
      });
      const error = (await process.execute(ctxFor('agent'))).failure.error;
      expect(error).toBeInstanceOf(Error);
      expect(error.cause).toBe(thrown);
      expect(error.message).toContain('code');
    });

    test('a thrown string keeps its text as the message and itself as the cause', async () => {
      const process = Process('agent', () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point of the test
        throw 'quota exceeded';
      });
      const error = (await process.execute(ctxFor('agent'))).failure.error;
      expect(error.message).toBe('quota exceeded');
      expect(error.cause).toBe('quota exceeded');
    });

    test('a returned failure is kept, and filled with the process name', async () => {
      const original = new Error('no answer');
      const result = await Process('agent', () => ProcessResult.fail(original)).execute(ctxFor('agent'));
      expect(result.failure.error).toBe(original);
      expect(result.failure.processName).toBe('agent');
    });

    test('the last emission of an Observable is the result', async () => {
      const result = await Process('agent', () => of(ProcessResult.ok('draft'), ProcessResult.ok('final'))).execute(ctxFor('agent'));
      expect(result.value).toBe('final');
    });
  });

  describe('the Failure is filled', () => {
    test('with process name and id, start and fail times, placement, last checkpoint and stack', async () => {
      const placement = new Placement({ model: 'claude-haiku-4-5-20250414', endpoint: 'anthropic' });
      const clock = [1_000, 3_500];
      const ctx = ctxFor('classifier', { placement, backend: 'anthropic', parent: 'triage', attempt: 2, now: () => clock.shift() ?? 9_999 });
      const process = Process('classifier', (c) => {
        c.checkpoint({ stage: 'fetched' });
        c.checkpoint({ stage: 'classified', items: 3 });
        throw new Error('malformed output');
      });

      const failure = (await process.execute(ctx)).failure;

      expect(failure.processName).toBe('classifier');
      expect(failure.processId).toBe(ctx.processId);
      expect(failure.startedAt).toEqual(new Date(1_000));
      expect(failure.failedAt).toEqual(new Date(3_500));
      expect(failure.elapsed).toBe(2.5);
      expect(failure.placement).toBe(placement);
      expect(failure.backend).toBe('anthropic');
      expect(failure.parentProcess).toBe('triage');
      expect(failure.attempts).toBe(2);
      expect(failure.checkpoint).toEqual({ stage: 'classified', items: 3 });
      expect(failure.stack).toContain('malformed output');
    });

    test('a returned failure gets the missing context fields but keeps its own', async () => {
      const placement = new Placement({ endpoint: 'local:8080' });
      const ctx = ctxFor('embed', { placement });
      const process = Process('embed', (c) => {
        c.checkpoint('halfway');
        return ProcessResult.fail(new Error('oom'), { checkpoint: 'own checkpoint' });
      });
      const failure = (await process.execute(ctx)).failure;
      expect(failure.placement).toBe(placement);
      expect(failure.processId).toBe(ctx.processId);
      expect(failure.startedAt).toBeInstanceOf(Date);
      expect(failure.checkpoint).toBe('own checkpoint');
    });

    test("a returned failure is timed on the context's clock and counts the context's attempt", async () => {
      const clock = [1_000, 3_500];
      const ctx = ctxFor('embed', { attempt: 2, now: () => clock.shift() ?? 9_999 });
      const failure = (await Process('embed', () => ProcessResult.fail(new Error('oom'))).execute(ctx)).failure;
      expect(failure.failedAt).toEqual(new Date(3_500));
      expect(failure.elapsed).toBe(2.5);
      expect(failure.attempts).toBe(2);
    });
  });

  describe('execute$', () => {
    test('is synchronous for a synchronous run: the result arrives before subscribe returns', () => {
      const seen: ProcessResult[] = [];
      let completed = false;
      Process('sync', () => ProcessResult.ok('now'))
        .execute$(ctxFor('sync'))
        .subscribe({ next: (result) => seen.push(result), complete: () => (completed = true) });
      expect(seen.map((result) => result.value)).toEqual(['now']);
      expect(completed).toBe(true);
    });

    test('is synchronous for an Observable run', () => {
      const seen: unknown[] = [];
      Process('rx', () => of(ProcessResult.ok('a'), ProcessResult.ok('b')))
        .execute$(ctxFor('rx'))
        .subscribe((result) => seen.push(result.value));
      expect(seen).toEqual(['b']);
    });

    test('is synchronous for a synchronous failure too', () => {
      const seen: boolean[] = [];
      Process('boom', () => {
        throw new Error('boom');
      })
        .execute$(ctxFor('boom'))
        .subscribe({ next: (result) => seen.push(result.isFail), error: () => seen.push(false) });
      expect(seen).toEqual([true]);
    });

    test('emits exactly one result and never errors, whatever the run does', () => {
      const notifications: string[] = [];
      Process('rx', () => throwError(() => new Error('stream broke')))
        .execute$(ctxFor('rx'))
        .subscribe({ next: () => notifications.push('next'), error: () => notifications.push('error'), complete: () => notifications.push('complete') });
      expect(notifications).toEqual(['next', 'complete']);
    });

    test('unsubscribing tears down the run\'s Observable', () => {
      let tornDown = false;
      const subscription = Process('forever', () => new Observable<ProcessResult>(() => () => (tornDown = true)))
        .execute$(ctxFor('forever'))
        .subscribe();
      expect(tornDown).toBe(false);
      subscription.unsubscribe();
      expect(tornDown).toBe(true);
    });

    test('runs the body again on each subscription (cold)', () => {
      let runs = 0;
      const results = Process('count', () => ProcessResult.ok(++runs)).execute$(ctxFor('count'));
      results.subscribe();
      results.subscribe();
      expect(runs).toBe(2);
    });
  });

  describe('copies', () => {
    const base = Process('fetch', () => ProcessResult.ok('page'));

    test('optional() is a copy whose failure does not halt; the original stays required', async () => {
      const optional = base.optional();
      expect(optional.isOptional).toBe(true);
      expect(base.isOptional).toBe(false);
      expect(optional).not.toBe(base);
      expect(optional.name).toBe('fetch');
      expect((await optional.execute(ctxFor('fetch'))).value).toBe('page');
    });

    test('withName() is a renamed copy that still runs; its failures carry the new name', async () => {
      const renamed = base.withName('fetch-news');
      expect(renamed.name).toBe('fetch-news');
      expect(base.name).toBe('fetch');
      expect((await renamed.execute(ctxFor('fetch-news'))).value).toBe('page');

      const failing = Process('a', () => {
        throw new Error('x');
      }).withName('b');
      expect((await failing.execute(ctxFor('b'))).failure.processName).toBe('b');
    });

    test('withInput() binds an input on a copy, which the body receives as ctx.input', async () => {
      const echo = Process('echo', (ctx) => ProcessResult.ok(ctx.input));
      const bound = echo.withInput({ query: 'rxjs' });
      expect(bound.boundInput).toEqual({ query: 'rxjs' });
      expect(echo.boundInput).toBeUndefined();
      expect((await bound.execute(ctxFor('echo'))).value).toEqual({ query: 'rxjs' });
    });

    test('copies chain, keeping what each step set', async () => {
      const copy = base.withInput(1).withName('renamed').optional();
      expect(copy.name).toBe('renamed');
      expect(copy.boundInput).toBe(1);
      expect(copy.isOptional).toBe(true);
      expect((await copy.execute(ctxFor('renamed'))).value).toBe('page');
    });

    test('copies of a subclass keep the class, its state and its private fields', async () => {
      class Counter extends Process<number> {
        readonly step = 10;
        #runs = 0;
        run(ctx: ProcessContext): ProcessResult<number> {
          this.#runs += 1;
          return ProcessResult.ok(Number(ctx.input ?? 0) + this.step + this.#runs);
        }
      }
      const counter = new Counter();
      const copy = counter.withInput(5).withName('counter').optional();
      expect(copy).toBeInstanceOf(Counter);
      expect((copy as Counter).step).toBe(10);
      expect((await copy.execute(ctxFor('counter'))).value).toBe(16);
      expect(counter.name).toBe('Counter');
      expect(counter.boundInput).toBeUndefined();
      expect(counter.isOptional).toBe(false);
    });
  });

  describe('zod input and output', () => {
    const query = Process(
      { name: 'search', input: z.object({ query: z.string().trim().min(1), limit: z.number().int().default(10) }), output: z.array(z.string()) },
      (ctx) => ProcessResult.ok([`${ctx.input.query}:${ctx.input.limit}`]),
    );

    test('ctx.input is the input as the schema parsed it (transforms and defaults applied)', async () => {
      const result = await query.withInput({ query: '  rxjs  ' }).execute(ctxFor('search'));
      expect(result.value).toEqual(['rxjs:10']);
    });

    test('an input given on the context is validated as well', async () => {
      const result = await query.execute(ctxFor('search', { input: { query: 'zod', limit: 2 } }));
      expect(result.value).toEqual(['zod:2']);
    });

    test('an invalid input is a ValidationError naming the field, and the body does not run', async () => {
      let ran = false;
      const guarded = Process({ name: 'guarded', input: z.object({ query: z.string() }) }, () => {
        ran = true;
        return ProcessResult.ok();
      });
      const result = await guarded.withInput({ query: 42 }).execute(ctxFor('guarded'));
      expect(ran).toBe(false);
      const error = result.failure.error as ValidationError;
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.target).toBe('input');
      expect(error.issues[0]?.path).toBe('query');
      expect(error.message).toContain('input of process "guarded" is invalid');
      expect(error.message).toMatch(/query: .*string/);
    });

    test('a missing input is a ValidationError on the root', async () => {
      const error = (await query.execute(ctxFor('search'))).failure.error as ValidationError;
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.issues[0]?.path).toBe('(root)');
    });

    test('an invalid output is a ValidationError naming the field', async () => {
      const process = Process({ name: 'scorer', output: z.object({ score: z.number().max(1) }) }, () => ProcessResult.ok({ score: 7 }));
      const error = (await process.execute(ctxFor('scorer'))).failure.error as ValidationError;
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.target).toBe('output');
      expect(error.issues.map((issue) => issue.path)).toEqual(['score']);
      expect(error.message).toContain('output of process "scorer" is invalid: score:');
    });

    test('a valid output is returned as the schema parsed it', async () => {
      const process = Process({ name: 'trimmer', output: z.string().trim() }, () => ProcessResult.ok('  text  '));
      expect((await process.execute(ctxFor('trimmer'))).value).toBe('text');
    });
  });

  describe('x instanceof Process', () => {
    class Subclassed extends Process {
      run(): ProcessResult {
        return ProcessResult.ok();
      }
    }
    const factory = Process('factory', () => ProcessResult.ok());

    test.each([
      ['a factory process', factory],
      ['a copy of one', factory.optional()],
      ['a subclass instance', new Subclassed()],
      ['a PLACED_PAR group', PLACED_PAR([factory, new Placement({})])],
      ['a PAR group', PAR(factory)],
      ['a renamed group', PAR(factory).withName('group')],
    ])('holds for %s', (_description, candidate) => {
      expect(candidate instanceof Process).toBe(true);
      expect(isProcess(candidate)).toBe(true);
    });

    test.each([
      ['a plain function', () => ProcessResult.ok()],
      ['a look-alike object', { name: 'x', execute: () => Promise.resolve(ProcessResult.ok()) }],
      ['null', null],
      ['a Placement', new Placement({})],
    ])('does not hold for %s', (_description, candidate) => {
      expect(candidate instanceof Process).toBe(false);
      expect(isProcess(candidate)).toBe(false);
    });

    test('a subclass keeps its own instanceof check', () => {
      expect(new Subclassed() instanceof Subclassed).toBe(true);
      expect(factory instanceof Subclassed).toBe(false);
    });
  });
});

import { type InteropObservable, Observable, type ObservableInput, type Unsubscribable, firstValueFrom, from, isObservable, observable as observableKey } from 'rxjs';
import type { z } from 'zod';
import { InvalidResultError, UsageError, ValidationError } from '../errors';
import { Placement } from '../placement/Placement';
import { isPromiseLike } from '../validation/isPromiseLike';
import { isPlainObject, readableIssues } from '../validation/parse';
import type { FailureFields } from './Failure';
import { type ProcessContext, holdWork, replaceInput } from './ProcessContext';

/**
 * @internal What a body or a backend may give as an Observable: ours, or another library's
 * (`Symbol.observable`); not an array, a string or another iterable, which `from` would also take.
 *
 * @example
 * ```ts
 * if (isSubscribable(output)) from(output).subscribe(observer);
 * ```
 */
export function isSubscribable(candidate: unknown): candidate is ObservableInput<unknown> {
  return isObservable(candidate) || typeof (candidate as Partial<Record<string | symbol, unknown>> | null | undefined)?.[observableKey] === 'function';
}

/** @internal The key of `ProcessBase`'s inline runner (see `ProcessBase[runInline]`). */
export const runInline: unique symbol = Symbol('stbass.runInline');

/**
 * @internal Where `runInline` hands its result. Once `closed` (the attempt was cut: nobody reads the
 * result), `settle` is still called, so that what the attempt holds is released, but with no result:
 * a deadline cutting a thousand bodies does not build a thousand failures nobody will see.
 */
export interface InlineSink<T> {
  readonly closed: boolean;
  settle(result: ProcessResult<T> | undefined): void;
}
import { ProcessResult } from './ProcessResult';

/**
 * What a process body may return: a result, a promise of one, or an Observable whose last emission
 * is one (RxJS's, or another library's with `Symbol.observable`).
 */
export type ProcessOutput<T> = ProcessResult<T> | PromiseLike<ProcessResult<T>> | Observable<ProcessResult<T>> | InteropObservable<ProcessResult<T>>;

/** A process body. */
export type RunFunction<T, Input = unknown> = (ctx: ProcessContext<Input>) => ProcessOutput<T>;

/** A zod schema, as accepted for `input` and `output`. */
export type Schema<T = unknown> = z.ZodType<T>;

/** How a process is defined: all optional. */
export interface ProcessDefinition<T = unknown, Input = unknown> {
  /** The name used in events and failures (default: the function's or class's name). */
  readonly name?: string;
  /** The placement a bare process runs on in `PLACED_PAR` and `PAR`. */
  readonly placement?: Placement;
  /** A zod schema the bound input must match before the body runs. */
  readonly input?: Schema<Input>;
  /** A zod schema the success value must match. */
  readonly output?: Schema<T>;
}

/**
 * A named unit of async work: anything `PLACED_PAR` can run. Build one with the `Process(...)`
 * factory, subclass `Process`, or nest a `PLACED_PAR` group.
 */
export interface Process<T = unknown> {
  /** The name used in events, results and failures. */
  readonly name: string;
  /** The default placement given at definition, if any. */
  readonly placement: Placement | undefined;
  /** Whether a failure of this process leaves its group running under HALT. */
  readonly isOptional: boolean;
  /** The zod schema of the input, if any. */
  readonly input: Schema | undefined;
  /** The zod schema of the success value, if any. */
  readonly output: Schema | undefined;
  /** The input bound with `withInput`, handed to the process as `ctx.input`. */
  readonly boundInput: unknown;
  /** Runs once; the Observable emits exactly one `ProcessResult` and completes, never errors. */
  execute$(ctx: ProcessContext): Observable<ProcessResult<T>>;
  /** Runs once; the promise never rejects: every failure is a failed `ProcessResult`. */
  execute(ctx: ProcessContext): Promise<ProcessResult<T>>;
  /** A copy whose failure does not halt its group. */
  optional(): Process<T>;
  /** A renamed copy. */
  withName(name: string): Process<T>;
  /** A copy with `value` bound as its input (validated against `input` when it runs). */
  withInput(value: unknown): Process<T>;
}

/** @internal Marks every process, across copies of the package too. */
export const processBrand: unique symbol = Symbol.for('stbass.process') as never;

/** Whether `candidate` is a process (built by the factory, a subclass, or a group). */
export function isProcess(candidate: unknown): candidate is Process {
  return typeof candidate === 'object' && candidate !== null && (candidate as { [processBrand]?: unknown })[processBrand] === true;
}

/** @internal On a copy (`optional()`, `withName`, `withInput`): the instance that was constructed. */
const originOf: unique symbol = Symbol('stbass.processOrigin');

function checkName(name: unknown, argument: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new UsageError(argument, 'a non-empty string', name);
  return name;
}

/**
 * The base every process shares: `execute`/`execute$` turn whatever `run` does into exactly one
 * `ProcessResult`, validate input and output, and fill the `Failure`. Extend it through `Process`.
 */
export abstract class ProcessBase<T = unknown> implements Process<T> {
  declare readonly [processBrand]: true;
  readonly name: string;
  readonly placement: Placement | undefined;
  readonly isOptional: boolean = false;
  readonly input: Schema | undefined;
  readonly output: Schema | undefined;
  readonly boundInput: unknown = undefined;

  constructor(definition: ProcessDefinition<T> = {}) {
    checkDefinitionKeys(definition);
    this.name = checkName(definition.name ?? new.target.name, 'Process definition.name');
    if (definition.placement !== undefined && !(definition.placement instanceof Placement)) {
      throw new UsageError('Process definition.placement', 'a Placement', definition.placement);
    }
    this.placement = definition.placement;
    this.input = checkSchema(definition.input, 'Process definition.input');
    this.output = checkSchema(definition.output, 'Process definition.output');
  }

  /** The body: return a `ProcessResult`, a promise of one, or an Observable whose last emission is one. */
  abstract run(ctx: ProcessContext): ProcessOutput<T>;

  execute$(ctx: ProcessContext): Observable<ProcessResult<T>> {
    return new Observable<ProcessResult<T>>((subscriber) => {
      const running = this[runInline](ctx, {
        get closed() {
          return subscriber.closed;
        },
        settle(result) {
          if (result === undefined) return;
          subscriber.next(result);
          subscriber.complete();
        },
      });
      // A promise cannot be cancelled: the run keeps its slot until it settles.
      if (isPromiseLike(running)) ctx[holdWork](running);
      else return running;
    });
  }

  /**
   * @internal Runs the body once and calls `to.settle` exactly once with its result, synchronously when
   * the body is; returns the body's subscription when it is an Observable, its promise while that is
   * pending (`to.settle` is called when it settles, whatever else happened). `execute$` wraps this; the
   * engine calls it directly for in-process backends, saving an Observable per process.
   */
  [runInline](ctx: ProcessContext, to: InlineSink<T>): Unsubscribable | PromiseLike<unknown> | undefined {
    const startedAt = ctx.now();
    const fail = (error: unknown): void => to.settle(to.closed ? undefined : ProcessResult.fail<T>(error, this.failureFields(ctx, startedAt)));
    const finish = (produced: unknown): void => {
      if (to.closed) return to.settle(undefined);
      if (!(produced instanceof ProcessResult)) return fail(new InvalidResultError(produced));
      if (produced.isFail) return to.settle((produced as ProcessResult<T>).withFailureFields(this.failureFields(ctx, startedAt)));
      if (this.output === undefined) return to.settle(produced as ProcessResult<T>);
      const parsed = this.output.safeParse(produced.value);
      if (!parsed.success) return fail(new ValidationError('output', this.name, readableIssues(parsed.error)));
      to.settle(ProcessResult.ok(parsed.data as T));
    };

    // A bound input reaches the body when the caller's context carries none (direct `execute(ctx)`).
    if (ctx.input === undefined && this.boundInput !== undefined) ctx[replaceInput](this.boundInput);
    if (this.input !== undefined) {
      const parsed = this.input.safeParse(ctx.input);
      if (!parsed.success) {
        fail(new ValidationError('input', this.name, readableIssues(parsed.error)));
        return undefined;
      }
      ctx[replaceInput](parsed.data);
    }
    let output: unknown;
    // What the body gave is read inside too: a `then` or `Symbol.observable` of its own that throws
    // (or a revoked Proxy) is its failure.
    try {
      // On a copy, `run` is called on the constructed instance: only it holds the #private fields.
      output = this.run.call((this as { [originOf]?: ProcessBase<T> })[originOf] ?? this, ctx);
      if (isPromiseLike(output) && !isObservable(output)) {
        output.then(finish, fail);
        return output;
      }
      // An Observable of another library (`Symbol.observable`) is one too, as from a backend's execute.
      if (!isSubscribable(output)) {
        finish(output);
        return undefined;
      }
    } catch (error) {
      fail(error);
      return undefined;
    }
    // The result is handed on once the body's subscription is torn down, so its finalizers have run
    // first; a subscription torn down by the caller (cancellation) hands nothing on.
    let last: unknown;
    let emitted = false;
    let ended: 'completed' | 'errored' | undefined;
    let error: unknown;
    // Methods, not arrows, here and in the engine's observers: the build wraps every named arrow to
    // keep its name, and the core's bytes are budgeted.
    const subscription = from(output).subscribe({
      next(value) {
        last = value;
        emitted = true;
      },
      error(thrown: unknown) {
        error = thrown;
        ended = 'errored';
      },
      complete() {
        ended = 'completed';
      },
    });
    subscription.add(() => {
      if (ended === 'errored') fail(error);
      else if (ended === 'completed') {
        if (emitted) finish(last);
        else fail(new InvalidResultError(undefined, "the process's Observable completed without emitting; it"));
      }
    });
    return subscription;
  }

  execute(ctx: ProcessContext): Promise<ProcessResult<T>> {
    return firstValueFrom(this.execute$(ctx));
  }

  optional(): Process<T> {
    return this.copy({ isOptional: true });
  }

  withName(name: string): Process<T> {
    return this.copy({ name: checkName(name, 'withName(name)') });
  }

  withInput(value: unknown): Process<T> {
    return this.copy({ boundInput: value });
  }

  /**
   * A shallow copy that keeps the subclass and its state, with some fields replaced. JS #private
   * fields cannot be copied, so the copy remembers the constructed instance and runs `run` on it.
   */
  protected copy(fields: Partial<Pick<ProcessBase<T>, 'name' | 'isOptional' | 'boundInput'>>): this {
    const origin = (this as { [originOf]?: ProcessBase<T> })[originOf] ?? this;
    const copy = Object.assign(Object.create(Object.getPrototypeOf(this) as object) as this, this, fields);
    Object.defineProperty(copy, originOf, { value: origin });
    return copy;
  }

  private failureFields(ctx: ProcessContext, startedAt: number): FailureFields {
    return {
      processName: this.name,
      processId: ctx.processId,
      startedAt: new Date(startedAt),
      failedAt: new Date(ctx.now()),
      placement: ctx.placement,
      backend: ctx.backend,
      parentProcess: ctx.parent,
      checkpoint: ctx.lastCheckpoint,
      attempts: ctx.attempt,
    };
  }
}
Object.defineProperty(ProcessBase.prototype, processBrand, { value: true });

const definitionKeys = ['name', 'placement', 'input', 'output'];

/** A typo in a definition (`placment`) must not silently drop the field. */
function checkDefinitionKeys(definition: object): void {
  if (!isPlainObject(definition)) throw new UsageError('Process definition', 'a plain object { name?, placement?, input?, output? }', definition);
  for (const key in definition) {
    if (!definitionKeys.includes(key)) throw new UsageError(`Process definition.${key}`, `one of the known keys (${definitionKeys.join(', ')})`, definition[key]);
  }
}

function checkSchema(schema: unknown, argument: string): Schema | undefined {
  if (schema === undefined) return undefined;
  if (typeof schema !== 'object' || schema === null || !('safeParse' in schema) || typeof schema.safeParse !== 'function') throw new UsageError(argument, 'a zod schema', schema);
  return schema as Schema;
}

class FunctionProcess<T> extends ProcessBase<T> {
  readonly #body: RunFunction<T>;

  constructor(definition: ProcessDefinition<T>, body: RunFunction<T>) {
    super(definition);
    this.#body = body;
  }

  run(ctx: ProcessContext): ProcessOutput<T> {
    return this.#body(ctx);
  }
}

function createProcess(...args: unknown[]): Process {
  const [first, second] = args;
  if (args.length === 1) {
    if (typeof first !== 'function') throw new UsageError('Process(fn)', 'a function (ctx) => ProcessResult | Promise | Observable', first);
    if (first.name === '') throw new UsageError('Process(fn)', 'a named function, or a name: Process("name", fn), since failure reports need a name', first);
    return new FunctionProcess({ name: first.name }, first as RunFunction<unknown>);
  }
  if (args.length !== 2) throw new UsageError('Process(...)', 'Process(fn), Process(name, fn) or Process(definition, fn)', args, { receivedText: `${args.length} arguments` });
  if (typeof second !== 'function') throw new UsageError('Process(..., fn)', 'a function (ctx) => ProcessResult | Promise | Observable', second);
  if (typeof first === 'string') return new FunctionProcess({ name: checkName(first, 'Process(name, fn) name') }, second as RunFunction<unknown>);
  if (!isPlainObject(first)) {
    throw new UsageError('Process(definition, fn) definition', 'a name or an object { name?, placement?, input?, output? }', first);
  }
  const definition = first as ProcessDefinition;
  const name = definition.name ?? (second.name === '' ? undefined : second.name);
  if (name === undefined) throw new UsageError('Process(definition, fn) definition.name', 'a non-empty string (the function is anonymous)', undefined);
  return new FunctionProcess({ ...definition, name }, second as RunFunction<unknown>);
}

/** The factory forms of `Process`. */
export interface ProcessFactory {
  /** A process from a named function; the name is the function's. */
  <T>(body: RunFunction<T>): Process<T>;
  /** A process with an explicit name. */
  <T>(name: string, body: RunFunction<T>): Process<T>;
  /** A process with a name, default placement and zod schemas for its input and output. */
  <T, Input = unknown>(definition: ProcessDefinition<T, Input>, body: RunFunction<T, Input>): Process<T>;
}

/**
 * Builds a process from a function, or serves as the base class of your own.
 *
 * @example
 * ```ts
 * const classify = Process('classifier', async (ctx) => ProcessResult.ok(await label(ctx.input)));
 *
 * class Researcher extends Process<string> {
 *   run(ctx: ProcessContext) { return search(ctx.input, { signal: ctx.signal }).then(ProcessResult.ok); }
 * }
 * new Researcher().name; // "Researcher"
 * ```
 */
export const Process: typeof ProcessBase & ProcessFactory = (() => {
  const proxy: typeof ProcessBase & ProcessFactory = new Proxy(ProcessBase, {
    apply: (_target, _self, args: unknown[]) => createProcess(...args),
    // `x instanceof Process` holds for every process, groups included; subclasses keep the usual check.
    get: (target, key, receiver) => (key === Symbol.hasInstance && receiver === proxy ? isProcess : Reflect.get(target, key, receiver) as unknown),
  }) as unknown as typeof ProcessBase & ProcessFactory;
  return proxy;
})();

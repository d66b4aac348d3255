import { Observable, Subject, type Subscriber, defer, filter, firstValueFrom, map } from 'rxjs';
import { UsageError } from '../errors';
import { Placement, UNSPECIFIED } from '../placement/Placement';
import { type Process, isProcess, processBrand } from '../process/Process';
import type { ProcessContext } from '../process/ProcessContext';
import { ProcessResult } from '../process/ProcessResult';
import type { DoneEvent, ParEvent } from './events';
import { group$ } from './pipeline';
import { type ChainOptions, type ChainSpec, type Placements, resolvePlacements } from './chainSpec';
import { placeChain } from './fallbackChain';
import { HealthCache } from './healthCache';
import { type EngineEvent, type PlacedTask, type RunSettings, placeTask } from './task';
import type { PARResult } from './PARResult';
import { isPlainObject } from '../validation/parse';
import { type PlacedParOptions, type ResolvedOptions, deadlineAt, resolveOptions } from './options';
import { runTelemetry } from '../telemetry/tracedRun';

/** A process paired with where it runs. */
export type PlacedPair<T = unknown> = readonly [Process<T>, Placement];

/**
 * A process with a fallback chain: the placements it may run on, first choice first (an array, or
 * `primary.orElse(secondary)`), and optionally how the chain behaves.
 *
 * @example
 * ```ts
 * const pair: ChainedPair<string> = [writer, [opus, haiku], { hedge: { after: 2 } }];
 * ```
 */
export type ChainedPair<T = unknown> = readonly [Process<T>, Placements] | readonly [Process<T>, Placements, ChainOptions];

/** What `PLACED_PAR` takes for each process: a pair, a pair with a fallback chain, or a bare process on its own placement. */
export type PlacedItem<T = unknown> = PlacedPair<T> | ChainedPair<T> | Process<T>;

/** The success value of a placed item: the union over a group's items is the group's value type. */
export type ValueOfItem<Item> = Item extends readonly [Process<infer V>, ...unknown[]] ? V : Item extends Process<infer V> ? V : never;

export interface ResolvedPair<T> {
  readonly process: Process<T>;
  /** The placement, or the first of a chain. */
  readonly placement: Placement;
  /** Set when the pair names several placements. */
  readonly chain?: ChainSpec | undefined;
}

/**
 * A placed group, cold and re-runnable: every `run()`, `result$` or `events$` subscription is a new
 * run. It is an Observable of its events, and a `Process` whose value is the list of success
 * values, so groups nest.
 *
 * @example
 * ```ts
 * const group = PLACED_PAR([reasoner, opus], [classifier, haiku], { deadline: 30 });
 * const result = await group.run();
 * group.events$.subscribe((event) => console.log(event.type));
 * PLACED_PAR(group.withName('research'), writer); // nested
 * ```
 */
export class PlacedPar<T = unknown> extends Observable<ParEvent<T>> implements Process<T[]> {
  declare readonly [processBrand]: true;
  readonly name: string;
  readonly placement: Placement | undefined = undefined;
  readonly isOptional: boolean = false;
  readonly input: undefined = undefined;
  readonly output: undefined = undefined;
  readonly boundInput: unknown = undefined;
  readonly #pairs: readonly ResolvedPair<T>[];
  readonly #options: ResolvedOptions;

  /** @internal Use `PLACED_PAR` or `PAR`. */
  constructor(pairs: readonly ResolvedPair<T>[], options: ResolvedOptions, name: string) {
    super(function (this: Observable<ParEvent<T>>, subscriber: Subscriber<ParEvent<T>>) {
      return (this as PlacedPar<T>).events$.subscribe(subscriber);
    });
    this.#pairs = pairs;
    this.#options = options;
    this.name = name;
  }

  /** The processes and placements of the group, in declaration order (a chain as its list of placements, and its options if given). */
  get pairs(): (PlacedPair<T> | ChainedPair<T>)[] {
    return this.#pairs.map(({ process, placement, chain }) => {
      if (chain === undefined) return [process, placement];
      return chain.options === undefined ? [process, chain.placements] : [process, chain.placements, chain.options];
    });
  }

  /** Every event of a run, ending with `done`; never errors because of what a process did. */
  get events$(): Observable<ParEvent<T>> {
    return this.run$(undefined, true).pipe(map(publicEvent));
  }

  /** The group's result: one emission, then completion. */
  get result$(): Observable<PARResult<T>> {
    return this.run$(undefined, false).pipe(filter(isDone), map((done) => done.result));
  }

  /** Runs the group; never rejects because of what a process or backend did. */
  run(): Promise<PARResult<T>> {
    return firstValueFrom(this.result$);
  }

  /** As a process: the group's success values, or its first failure's error. */
  execute$(ctx: ProcessContext): Observable<ProcessResult<T[]>> {
    return this.run$(ctx, false).pipe(filter(isDone), map((done) => groupOutcome(done.result, this.name)));
  }

  execute(ctx: ProcessContext): Promise<ProcessResult<T[]>> {
    return firstValueFrom(this.execute$(ctx));
  }

  optional(): PlacedPar<T> {
    return this.copy({ isOptional: true });
  }

  withName(name: string): PlacedPar<T> {
    if (typeof name !== 'string' || name === '') throw new UsageError('withName(name)', 'a non-empty string', name);
    return this.copy({ name });
  }

  /** Groups take no input: their processes carry their own. */
  withInput(value: unknown): never {
    throw new UsageError('withInput(value)', 'no input: a group passes none to its processes (bind inputs on each process)', value);
  }

  private copy(fields: Partial<Pick<PlacedPar<T>, 'name' | 'isOptional'>>): PlacedPar<T> {
    const copy = new PlacedPar<T>(this.#pairs, this.#options, fields.name ?? this.name);
    return Object.assign(copy, { isOptional: fields.isOptional ?? this.isOptional });
  }

  /** A run of the group: its pairs placed now, as the processes of `ctx` when it runs nested. */
  private run$(ctx: ProcessContext | undefined, verbose: boolean): Observable<EngineEvent<T> | DoneEvent<T>> {
    return defer(() => {
      const { onFailure, registry, scheduler, deadline, parent, healthCheckInterval } = this.#options;
      const at = deadlineAt(deadline, scheduler, ctx?.deadline);
      const telemetry = runTelemetry({ name: this.name, policy: onFailure, deadline: at === undefined ? undefined : new Date(at) }, this.#options.telemetry);
      const settings: RunSettings = {
        policy: onFailure,
        registry,
        scheduler,
        now: () => scheduler.now(),
        parent: ctx?.processName ?? parent,
        deadline: at === undefined ? undefined : new Date(at),
        deadlineAt: at,
        // Telemetry reads the retries' delays from their events.
        verbose: verbose || telemetry?.verbose === true,
        deadlinePassed: new Subject<void>(),
        health: healthCheckInterval === undefined ? undefined : new HealthCache(healthCheckInterval, scheduler),
        telemetry,
      };
      const run$ = group$(this.#pairs.map((pair, index) => placePair(index, pair, settings)), settings);
      return telemetry === undefined ? run$ : telemetry.run(run$);
    });
  }
}
Object.defineProperty(PlacedPar.prototype, processBrand, { value: true });

function groupOutcome<T>(result: PARResult<T>, name: string): ProcessResult<T[]> {
  if (result.isOk) return ProcessResult.ok(result.value);
  const failures = result.failures;
  const cause = failures.find((failure) => failure.error.name !== 'CancelledError') ?? failures[0];
  return ProcessResult.fail(cause?.error ?? new Error(`group "${name}" failed`), { checkpoint: { failures: failures.map((failure) => failure.summary) } });
}

/** The options are the last argument when it is a plain object (a process, a pair or a Date is not). */
function isPlainOptions(candidate: unknown): boolean {
  return isPlainObject(candidate) && !isProcess(candidate);
}

/** Reads one item of a group (a pair, or a bare process on its own placement); a miss is a `UsageError` naming `argument`. */
export function resolvePair<T>(item: unknown, argument: string, bare: 'allowed' | 'only'): ResolvedPair<T> {
  if (isProcess(item)) return { process: item as Process<T>, placement: item.placement ?? UNSPECIFIED };
  if (bare === 'only') throw new UsageError(argument, 'a Process', item);
  if (!Array.isArray(item) || item.length < 2 || item.length > 3) throw new UsageError(argument, 'a [Process, Placement] pair, a [Process, [Placement, ...], options?] chain or a Process', item);
  const [process, where, options] = item as unknown[];
  if (!isProcess(process)) throw new UsageError(`${argument}[0]`, 'a Process (made with Process(...), a Process subclass or a group)', process);
  if (where instanceof Placement && item.length === 2) return { process: process as Process<T>, placement: where };
  const { placement, chain } = resolvePlacements(where, options, `${argument}[1]`, `${argument}[2]`);
  return { process: process as Process<T>, placement, chain };
}

/** The task of one pair of a run: a fallback chain when it names several placements. */
export function placePair<T>(index: number, { process, placement, chain }: ResolvedPair<T>, settings: RunSettings, ownDeadlineAt?: number): PlacedTask<T> {
  return chain === undefined ? placeTask(index, process, placement, settings, ownDeadlineAt) : placeChain(index, process, placement, chain, settings, ownDeadlineAt);
}

function splitArguments(args: readonly unknown[]): { items: readonly unknown[]; options: unknown } {
  const last = args[args.length - 1];
  if (args.length > 0 && isPlainOptions(last)) return { items: args.slice(0, -1), options: last };
  return { items: args, options: undefined };
}

function buildGroup<T>(callee: string, args: readonly unknown[], bare: 'allowed' | 'only'): PlacedPar<T> {
  const { items, options } = splitArguments(args);
  const pairs = items.map((item, index) => resolvePair<T>(item, `${callee} argument ${index + 1}`, bare));
  const resolved = resolveOptions(options, `${callee} options`);
  return new PlacedPar<T>(pairs, resolved, callee);
}

/**
 * Runs processes in parallel, each on the backend its placement chooses, under the failure
 * policy and deadline of the options.
 *
 * @example
 * ```ts
 * const result = await PLACED_PAR(
 *   [reasoningAgent, new Placement({ model: 'opus', endpoint: 'anthropic' })],
 *   [classifierAgent, new Placement({ model: 'haiku', endpoint: 'anthropic' })],
 *   [embedAgent, new Placement({ model: 'nomic', endpoint: 'local:8080' })],
 *   { onFailure: FailurePolicy.COLLECT, deadline: 30 },
 * ).run();
 * ```
 */
export function PLACED_PAR<Items extends PlacedItem[]>(...items: Items): PlacedPar<ValueOfItem<Items[number]>>;
export function PLACED_PAR<Items extends PlacedItem[]>(...args: [...Items, PlacedParOptions]): PlacedPar<ValueOfItem<Items[number]>>;
export function PLACED_PAR(...args: unknown[]): PlacedPar {
  return buildGroup('PLACED_PAR', args, 'allowed');
}

/**
 * `PLACED_PAR` where every process runs on its own placement (or the unspecified one).
 *
 * @example
 * ```ts
 * const result = await PAR(fetchNews, fetchWeather, { onFailure: FailurePolicy.COLLECT }).run();
 * ```
 */
export function PAR<Items extends Process[]>(...processes: Items): PlacedPar<ValueOfItem<Items[number]>>;
export function PAR<Items extends Process[]>(...args: [...Items, PlacedParOptions]): PlacedPar<ValueOfItem<Items[number]>>;
export function PAR(...args: unknown[]): PlacedPar {
  return buildGroup('PAR', args, 'only');
}

/** The public form of an engine event: a settlement becomes a `settled` event. */
function publicEvent<T>(event: EngineEvent<T> | DoneEvent<T>): ParEvent<T> {
  if (event.type !== 'settled') return event;
  const { task, result } = event;
  return { type: 'settled', index: task.index, name: task.process.name, placement: task.placement, result };
}

function isDone<T>(event: EngineEvent<T> | DoneEvent<T>): event is DoneEvent<T> {
  return event.type === 'done';
}

import { Observable, Subject, type Subscriber, defer, filter, firstValueFrom, map } from 'rxjs';
import { UsageError } from '../errors';
import { Placement, UNSPECIFIED } from '../placement/Placement';
import { type Process, isProcess, processBrand } from '../process/Process';
import type { ProcessContext } from '../process/ProcessContext';
import { ProcessResult } from '../process/ProcessResult';
import type { DoneEvent, ParEvent } from './events';
import { group$ } from './pipeline';
import { type ChainOptions, type ChainSpec, type Placements, resolvePlacements } from './chainSpec';
import { placeChain } from './chainedTask';
import { HealthCache } from './healthCache';
import { type EngineEvent, type PlacedTask, type RunSettings, placeTask } from './task';
import type { PARResult } from './PARResult';
import { isPlainObject, parseArgument } from '../validation/parse';
import { type PlacedParOptions, type ResolvedOptions, type RunOptions, deadlineAt, resolveOptions, runCallSchema } from './options';
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

/** The value types of a positional group's items, as a tuple: `[string, number[]]`. */
export type ValuesOfItems<Items extends readonly unknown[]> = { -readonly [I in keyof Items]: ValueOfItem<Items[I]> };

/** What a keyed `PLACED_PAR` takes: an item (a pair or a bare process) by key, as `forkJoin` takes a dictionary. */
export type KeyedItems = Readonly<Record<string, PlacedItem>>;

/** The value types of a keyed group's items, by key: `{ plan: string; label: string[] }`. */
export type ValuesOfGroup<Group> = { -readonly [K in keyof Group]: ValueOfItem<Group[K]> };

export interface ResolvedPair<T> {
  readonly process: Process<T>;
  /** The placement, or the first of a chain. */
  readonly placement: Placement;
  /** Set when the pair names several placements. */
  readonly chain?: ChainSpec | undefined;
  /** The item's key in a keyed group. */
  readonly key?: string;
}

/**
 * A placed group, cold and re-runnable: every `run()`, `result$` or `events$` subscription is a new
 * run. It is an Observable of its events, and a `Process` whose value is its `Values` (the list of
 * values of a positional group, the record of values by key of a keyed one), so groups nest.
 *
 * @example
 * ```ts
 * const group = PLACED_PAR({ reasoning: [reasoner, opus], label: [classifier, haiku] }, { deadline: 30 });
 * const result = await group.run({ signal: AbortSignal.timeout(60_000) });
 * group.events$.subscribe((event) => console.log(event.key, event.type));
 * PLACED_PAR({ research: group, draft: writer }); // nested: research's value is { reasoning, label }
 * ```
 */
export class PlacedPar<T = unknown, Values = T[]> extends Observable<ParEvent<T, Values>> implements Process<Values> {
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
    super(function (this: Observable<ParEvent<T, Values>>, subscriber: Subscriber<ParEvent<T, Values>>) {
      return (this as PlacedPar<T, Values>).events$.subscribe(subscriber);
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

  /** The keys of a keyed group, in declaration order; `undefined` for a positional one. */
  get keys(): string[] | undefined {
    return this.#pairs[0]?.key === undefined ? undefined : this.#pairs.map(({ key }) => key ?? '');
  }

  /** Every event of a run, ending with `done`; never errors because of what a process did. Each event of a keyed group carries its `key`. */
  get events$(): Observable<ParEvent<T, Values>> {
    const keys = this.keys;
    return this.run$(undefined, true).pipe(map((event) => publicEvent(event, keys)));
  }

  /** The group's result: one emission, then completion. */
  get result$(): Observable<PARResult<T, Values>> {
    return this.run$(undefined, false).pipe(filter(isDone), map((done) => done.result));
  }

  /**
   * Runs the group; never rejects because of what a process or backend did. With `signal`, an
   * abort cancels every unsettled process (as unsubscribing does) and the promise still resolves,
   * with those entries failed by a `CancelledError` of reason `aborted`; a signal already aborted
   * runs nothing.
   *
   * @example
   * ```ts
   * const controller = new AbortController();
   * stopButton.onclick = () => controller.abort();
   * const result = await group.run({ signal: controller.signal });
   * result.failures.filter((f) => f.error instanceof CancelledError && f.error.reason === 'aborted');
   * ```
   */
  run(options?: RunOptions): Promise<PARResult<T, Values>> {
    const signal = options === undefined ? undefined : parseArgument(runCallSchema, options, 'run(options)').signal;
    return firstValueFrom(this.run$(undefined, false, signal).pipe(filter(isDone), map((done) => done.result)));
  }

  /** As a process: the group's values (`Values`: a list, or a record by key), or its first failure's error. */
  execute$(ctx: ProcessContext): Observable<ProcessResult<Values>> {
    return this.run$(ctx, false).pipe(filter(isDone), map((done) => groupOutcome(done.result, this.name, this.keys !== undefined)));
  }

  execute(ctx: ProcessContext): Promise<ProcessResult<Values>> {
    return firstValueFrom(this.execute$(ctx));
  }

  optional(): PlacedPar<T, Values> {
    return this.copy({ isOptional: true });
  }

  withName(name: string): PlacedPar<T, Values> {
    if (typeof name !== 'string' || name === '') throw new UsageError('withName(name)', 'a non-empty string', name);
    return this.copy({ name });
  }

  /** Groups take no input: their processes carry their own. */
  withInput(value: unknown): never {
    throw new UsageError('withInput(value)', 'no input: a group passes none to its processes (bind inputs on each process)', value);
  }

  private copy(fields: Partial<Pick<PlacedPar<T, Values>, 'name' | 'isOptional'>>): PlacedPar<T, Values> {
    const copy = new PlacedPar<T, Values>(this.#pairs, this.#options, fields.name ?? this.name);
    return Object.assign(copy, { isOptional: fields.isOptional ?? this.isOptional });
  }

  /** A run of the group: its pairs placed as it reaches them, as the processes of `ctx` when it runs nested; `signal` is the run call's own. */
  private run$(ctx: ProcessContext | undefined, verbose: boolean, signal?: AbortSignal): Observable<EngineEvent<T> | DoneEvent<T, Values>> {
    return defer(() => {
      const { onFailure, registry, scheduler, deadline, parent, healthCheckInterval } = this.#options;
      const own = this.#options.signal;
      const signals = own === undefined ? (signal === undefined ? undefined : [signal]) : signal === undefined ? [own] : [own, signal];
      const at = deadlineAt(deadline, scheduler, ctx?.deadline);
      const telemetry = runTelemetry({ name: this.name, policy: onFailure, deadline: at === undefined ? undefined : new Date(at) }, this.#options.telemetry);
      const settings: RunSettings = {
        policy: onFailure,
        registry,
        scheduler,
        now() {
          return scheduler.now();
        },
        parent: ctx?.processName ?? parent,
        deadline: at === undefined ? undefined : new Date(at),
        deadlineAt: at,
        // Telemetry reads the retries' delays from their events.
        verbose: verbose || telemetry?.verbose === true,
        deadlinePassed: new Subject<void>(),
        health: healthCheckInterval === undefined ? undefined : new HealthCache(healthCheckInterval, scheduler),
        signals,
        telemetry,
      };
      // The done event's result has the group's shape: its pairs were declared as `Values` says.
      const run$ = group$(this.#pairs, (pair, index) => placePair(index, pair, settings), settings) as Observable<EngineEvent<T> | DoneEvent<T, Values>>;
      return telemetry === undefined ? run$ : telemetry.run(run$);
    });
  }
}
Object.defineProperty(PlacedPar.prototype, processBrand, { value: true });

function groupOutcome<T, Values>(result: PARResult<T, Values>, name: string, keyed: boolean): ProcessResult<Values> {
  // Every pair succeeded: the values, in declaration order or by key, are the whole of `Values`.
  if (result.isOk) return ProcessResult.ok((keyed ? result.values : result.value) as Values);
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
export function placePair<T>(index: number, { process, placement, chain, key }: ResolvedPair<T>, settings: RunSettings, ownDeadlineAt?: number): PlacedTask<T> {
  return chain === undefined ? placeTask(index, process, placement, settings, ownDeadlineAt, key) : placeChain(index, process, placement, chain, settings, ownDeadlineAt, key);
}

function splitArguments(args: readonly unknown[]): { items: readonly unknown[]; options: unknown } {
  const last = args[args.length - 1];
  if (args.length > 0 && isPlainOptions(last)) return { items: args.slice(0, -1), options: last };
  return { items: args, options: undefined };
}

/**
 * The keyed form, `({ key: item, ... }, options?)`, when the arguments have it: a plain object
 * then (optionally) options. A lone plain object is the keyed form when one of its values is an
 * item (a process or an array), else it is the options of an empty group.
 */
function keyedArguments(args: readonly unknown[]): { group: Record<string, unknown>; options: unknown } | undefined {
  const [group, options] = args;
  if (args.length > 2 || !isPlainOptions(group) || !isPlainObject(group)) return undefined;
  if (args.length === 2) return options === undefined || isPlainOptions(options) ? { group, options } : undefined;
  return Object.values(group).some((value) => isProcess(value) || Array.isArray(value)) ? { group, options: undefined } : undefined;
}

function buildGroup<T, Values>(callee: string, args: readonly unknown[], bare: 'allowed' | 'only'): PlacedPar<T, Values> {
  const keyed = keyedArguments(args);
  if (keyed !== undefined) {
    const pairs = Object.entries(keyed.group).map(([key, item]) => ({ ...resolvePair<T>(item, `${callee} argument 1.${key}`, bare), key }));
    return new PlacedPar<T, Values>(pairs, resolveOptions(keyed.options, `${callee} options`), callee);
  }
  const { items, options } = splitArguments(args);
  const pairs = items.map((item, index) => resolvePair<T>(item, `${callee} argument ${index + 1}`, bare));
  const resolved = resolveOptions(options, `${callee} options`);
  return new PlacedPar<T, Values>(pairs, resolved, callee);
}

/**
 * Runs processes in parallel, each on the backend its placement chooses, under the failure
 * policy, deadline and signal of the options. Keyed, as `forkJoin` takes a dictionary:
 * `PLACED_PAR({ key: pair, ... }, options?)` gives `result.get(key)` and `result.values`;
 * positional, `PLACED_PAR(pair, pair, ..., options?)` gives `result.at(index)`, each typed from
 * its pair.
 *
 * @example
 * ```ts
 * const opus = new Placement({ model: 'opus', endpoint: 'anthropic' });
 * const haiku = new Placement({ model: 'haiku', endpoint: 'anthropic' });
 * const result = await PLACED_PAR({ plan: [planner, opus], label: [classifier, haiku] }, { deadline: 30 }).run();
 * result.get('plan'); // ProcessResult<string>
 * result.values;      // { plan?: string; label?: string }
 *
 * const positional = await PLACED_PAR(
 *   [reasoningAgent, opus],
 *   [embedAgent, new Placement({ model: 'nomic', endpoint: 'local:8080' })],
 *   { onFailure: FailurePolicy.COLLECT, deadline: 30 },
 * ).run();
 * positional.at(1); // ProcessResult of the embedder's value type
 * ```
 */
export function PLACED_PAR<Group extends KeyedItems>(group: Group, options?: PlacedParOptions): PlacedPar<ValueOfItem<Group[keyof Group]>, ValuesOfGroup<Group>>;
export function PLACED_PAR<Items extends PlacedItem[]>(...items: Items): PlacedPar<ValueOfItem<Items[number]>, ValuesOfItems<Items>>;
export function PLACED_PAR<Items extends PlacedItem[]>(...args: [...Items, PlacedParOptions]): PlacedPar<ValueOfItem<Items[number]>, ValuesOfItems<Items>>;
export function PLACED_PAR(...args: unknown[]): PlacedPar<unknown, unknown> {
  return buildGroup('PLACED_PAR', args, 'allowed');
}

/**
 * `PLACED_PAR` where every process runs on its own placement (or the unspecified one); keyed or positional.
 *
 * @example
 * ```ts
 * const { news, weather } = (await PAR({ news: fetchNews, weather: fetchWeather }, { onFailure: FailurePolicy.COLLECT }).run()).values;
 * const result = await PAR(fetchNews, fetchWeather, { onFailure: FailurePolicy.COLLECT }).run();
 * ```
 */
export function PAR<Group extends Readonly<Record<string, Process>>>(group: Group, options?: PlacedParOptions): PlacedPar<ValueOfItem<Group[keyof Group]>, ValuesOfGroup<Group>>;
export function PAR<Items extends Process[]>(...processes: Items): PlacedPar<ValueOfItem<Items[number]>, ValuesOfItems<Items>>;
export function PAR<Items extends Process[]>(...args: [...Items, PlacedParOptions]): PlacedPar<ValueOfItem<Items[number]>, ValuesOfItems<Items>>;
export function PAR(...args: unknown[]): PlacedPar<unknown, unknown> {
  return buildGroup('PAR', args, 'only');
}

/** The public form of an engine event: a settlement becomes a `settled` event; in a keyed group (`keys`) each carries its key. */
function publicEvent<T, Values>(event: EngineEvent<T> | DoneEvent<T, Values>, keys: readonly string[] | undefined): ParEvent<T, Values> {
  if (event.type === 'settled') {
    const { task, result } = event;
    if (keys === undefined) return { type: 'settled', index: task.index, name: task.process.name, placement: task.placement, result };
    return { type: 'settled', index: task.index, key: task.key, name: task.process.name, placement: task.placement, result };
  }
  // The engine's per-process events know the index, not the key: a keyed group adds it here.
  if (keys === undefined || event.type === 'done') return event;
  return { ...event, key: keys[event.index] };
}

function isDone<T, Values>(event: EngineEvent<T> | DoneEvent<T, Values>): event is DoneEvent<T, Values> {
  return event.type === 'done';
}

import { Observable, type OperatorFunction, Subscriber, Subscription, type TeardownLogic, type Unsubscribable, UnsubscriptionError } from 'rxjs';
import { subscribeLinked } from './subscribeLinked';
import { CancelledError } from '../errors';
import { deferDrains } from './slots';
import { type EngineEvent, type PlacedTask, failed } from './task';

/** How a stop settles each process it cuts: the error of its failure and its signal's abort reason. */
export type Stop = (task: PlacedTask<unknown>) => Error;

/**
 * Merges the placed processes of a run — each task of the source becomes `project(task)`, all
 * subscribed at once (their backends' caps make them wait) — until `stop$` says to stop: then every
 * process still live is cut (its signal aborts, its Observable is unsubscribed, its slot goes on only
 * after the walk) and settled with the stop's error, in arrival order, and every later task is
 * settled with it at once. Completes when the source has completed and every process has settled,
 * after leaving `stop$`.
 *
 * Why not `mergeMap`: each of its inners is added to the parent subscription's finalizer array and
 * spliced out when it ends (quadratic at 100k processes), and cutting them all through a
 * `takeUntil` per process on one Subject is quadratic too (its observers are an array). Here the
 * live processes sit in a list threaded through them (O(1) to add and remove), and a stop walks
 * them once.
 *
 * ```
 * source:  (ab|)
 * a:        ---(A|)
 * b:        ---------(B|)
 * stop$:    ------x
 * result:   ---A--B'|          B': b settled with x's error
 * ```
 *
 * @example
 * ```ts
 * from(tasks).pipe(mergePlaced(placed$, merge(deadline$, halt$)));
 * ```
 */
export function mergePlaced<T>(project: (task: PlacedTask<T>) => Observable<EngineEvent<T>>, stop$: Observable<Stop>): OperatorFunction<PlacedTask<T>, EngineEvent<T>> {
  return (source) =>
    new Observable<EngineEvent<T>>((subscriber) => {
      const live = new LiveProcesses<T>();
      let stopped: Stop | undefined;
      let sourceDone = false;
      const completeIfDone = (): void => {
        if (!sourceDone || live.size > 0) return;
        // The stops go first (the deadline's timer, a signal's listeners): whoever reads the
        // completion, or a value made of it, finds nothing of the run still scheduled.
        stops.unsubscribe();
        subscriber.complete();
      };
      const settle = (task: PlacedTask<T>, error: Error): void => subscriber.next({ type: 'settled', task, result: failed(task, error), byStop: true });
      /**
       * Cuts every live process: its error first (while it still knows whether it was running),
       * then its abort reason set and its Observable unsubscribed, then — unless the consumer left —
       * its settlement. The slots freed are handed on after the walk, never to a waiter it cuts next.
       */
      const cutAll = (errorFor: Stop, settles: boolean): void =>
        deferDrains(() => {
          for (let inner = live.first; inner !== undefined; inner = live.first) {
            live.delete(inner);
            const task = inner.task;
            const error = errorFor(task);
            task.cutReason ??= error;
            inner.unsubscribe();
            if (settles && !subscriber.closed) settle(task, error);
          }
        });
      // One error for every process a consumer's leaving cuts, as HALT shares one: an error's stack
      // capture is the dearest part of a cut, and 100k processes left at once would build 100k. It
      // is made for the first process cut: a run that completed has none, and builds none.
      let cancelled: CancelledError | undefined;
      const unsubscribed: Stop = () => (cancelled ??= new CancelledError('unsubscribed'));
      const merged: Merged<T> = {
        next(inner, event) {
          if (event.type === 'settled') live.delete(inner);
          subscriber.next(event);
        },
        error(error) {
          subscriber.error(error);
        },
        complete(inner) {
          live.delete(inner);
          completeIfDone();
        },
      };

      // Read by completeIfDone only once the source has completed, long after this is set.
      const stops = stop$.subscribe((stop) => {
        if (stopped !== undefined) return;
        stopped = stop;
        cutAll(stop, true);
        completeIfDone();
      });
      subscriber.add(stops);
      // Linked before it is subscribed, so that a consumer leaving during the synchronous start
      // (take(1) on the first event) stops the source from placing more.
      subscribeLinked(source, subscriber, {
        next(task) {
          if (stopped !== undefined) return settle(task, (task.cutReason = stopped(task)));
          // Registered before it is subscribed: a consumer may leave (or a stop come) while it starts.
          const inner = new MergedProcess(task, merged);
          live.add(inner);
          project(task).subscribe(inner);
        },
        error(error: unknown) {
          cutAll(unsubscribed, false);
          subscriber.error(error);
        },
        complete() {
          sourceDone = true;
          completeIfDone();
        },
      });
      return () => cutAll(unsubscribed, false);
    });
}


/** Where the processes of one merge report, shared by all of them. */
interface Merged<T> {
  next(inner: MergedProcess<T>, event: EngineEvent<T>): void;
  error(error: unknown): void;
  complete(inner: MergedProcess<T>): void;
}

/** The live processes of a merge in arrival order: a list threaded through them, O(1) to add and remove. */
class LiveProcesses<T> {
  first: MergedProcess<T> | undefined;
  #last: MergedProcess<T> | undefined;
  size = 0;

  add(inner: MergedProcess<T>): void {
    inner.before = this.#last;
    if (this.#last === undefined) this.first = inner;
    else this.#last.after = inner;
    this.#last = inner;
    inner.listed = true;
    this.size += 1;
  }

  delete(inner: MergedProcess<T>): void {
    if (!inner.listed) return;
    inner.listed = false;
    if (inner.before === undefined) this.first = inner.after;
    else inner.before.after = inner.after;
    if (inner.after === undefined) this.#last = inner.before;
    else inner.after.before = inner.before;
    inner.before = undefined;
    inner.after = undefined;
    this.size -= 1;
  }
}

/** A teardown kept in a field: a function or an object with `unsubscribe`, not a Subscription. */
type Finalizer = (() => void) | Unsubscribable;

/**
 * One merged process: a Subscriber of its own (unsubscribed alone when it is cut), one object per
 * process. Its first three teardowns (a waiter's place in its backend's queue, if it waited; then its
 * attempt; then its slot's lease) are kept in fields: Subscription keeps them in an array (about 180
 * bytes for the first push) and walks it with an iterator on unsubscription, once per process of
 * every run. Order and error reporting are the same.
 */
class MergedProcess<T> extends Subscriber<EngineEvent<T>> {
  before: MergedProcess<T> | undefined;
  after: MergedProcess<T> | undefined;
  listed = false;
  #first: Finalizer | undefined;
  #second: Finalizer | undefined;
  #third: Finalizer | undefined;

  constructor(
    readonly task: PlacedTask<T>,
    private readonly merged: Merged<T>,
  ) {
    super();
  }

  override add(teardown: TeardownLogic): void {
    if (teardown === undefined || teardown === null || teardown === this) return;
    if (this.closed || teardown instanceof Subscription || this.#third !== undefined) {
      // Past the fast case, the fields' teardowns move to the array first: the array is always older.
      this.#spill();
      return super.add(teardown);
    }
    if (this.#first === undefined) this.#first = teardown;
    else if (this.#second === undefined) this.#second = teardown;
    else this.#third = teardown;
  }

  override unsubscribe(): void {
    if (this.closed) return;
    const first = this.#first;
    const second = this.#second;
    const third = this.#third;
    this.#first = this.#second = this.#third = undefined;
    // The array holds only what came before the fields' teardowns (see add): it runs first. Once
    // closed, anything added while these run is run at once, by Subscription.
    let errors: unknown[] | undefined;
    try {
      super.unsubscribe();
    } catch (error) {
      errors = collect(error, errors);
    }
    if (first !== undefined) errors = finalize(first, errors);
    if (second !== undefined) errors = finalize(second, errors);
    if (third !== undefined) errors = finalize(third, errors);
    if (errors !== undefined) throw new UnsubscriptionError(errors);
  }

  #spill(): void {
    // Rare (a fourth teardown, a Subscription, one added once closed): an array here is fine.
    const fields = [this.#first, this.#second, this.#third];
    this.#first = this.#second = this.#third = undefined;
    for (const teardown of fields) if (teardown !== undefined) super.add(teardown);
  }

  protected override _next(event: EngineEvent<T>): void {
    this.merged.next(this, event);
  }

  protected override _error(error: unknown): void {
    try {
      this.merged.error(error);
    } finally {
      this.unsubscribe();
    }
  }

  protected override _complete(): void {
    try {
      this.merged.complete(this);
    } finally {
      this.unsubscribe();
    }
  }
}

/** Runs one teardown, collecting what it throws as Subscription does. */
function finalize(finalizer: Finalizer, errors: unknown[] | undefined): unknown[] | undefined {
  try {
    if (typeof finalizer === 'function') finalizer();
    else finalizer.unsubscribe();
    return errors;
  } catch (error) {
    return collect(error, errors);
  }
}

function collect(error: unknown, errors: unknown[] | undefined): unknown[] {
  const thrown = error instanceof UnsubscriptionError ? (error.errors as unknown[]) : [error];
  return errors === undefined ? thrown : [...errors, ...thrown];
}

import { Observable, type OperatorFunction, Subscriber } from 'rxjs';
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
 * settled with it at once. Completes when the source has completed and every process has settled.
 *
 * Why not `mergeMap`: each of its inners is added to the parent subscription's finalizer array and
 * spliced out when it ends (quadratic at 100k processes), and cutting them all through a
 * `takeUntil` per process on one Subject is quadratic too (its observers are an array). Here the
 * live processes sit in a Map (O(1) to add and remove), and a stop walks them once.
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
      const live = new Map<PlacedTask<T>, Subscriber<EngineEvent<T>>>();
      let stopped: Stop | undefined;
      let sourceDone = false;
      const completeIfDone = (): void => {
        if (sourceDone && live.size === 0) subscriber.complete();
      };
      const settle = (task: PlacedTask<T>, error: Error): void => subscriber.next({ type: 'settled', task, result: failed(task, error), byStop: true });
      /**
       * Cuts every live process: its error first (while it still knows whether it was running),
       * then its abort reason set and its Observable unsubscribed, then — unless the consumer left —
       * its settlement. The slots freed are handed on after the walk, never to a waiter it cuts next.
       */
      const cutAll = (errorFor: Stop, settles: boolean): void =>
        deferDrains(() => {
          for (const [task, inner] of live) {
            live.delete(task);
            const error = errorFor(task);
            task.cutReason ??= error;
            inner.unsubscribe();
            if (settles && !subscriber.closed) settle(task, error);
          }
        });
      const unsubscribed: Stop = () => new CancelledError('unsubscribed');
      const merged: Merged<T> = {
        next: (task, event) => {
          if (event.type === 'settled') live.delete(task);
          subscriber.next(event);
        },
        error: (error) => subscriber.error(error),
        complete: (task) => {
          live.delete(task);
          completeIfDone();
        },
      };

      subscriber.add(
        stop$.subscribe((stop) => {
          if (stopped !== undefined) return;
          stopped = stop;
          cutAll(stop, true);
          completeIfDone();
        }),
      );
      // Linked before it is subscribed, so that a consumer leaving during the synchronous start
      // (take(1) on the first event) stops the source from placing more.
      subscribeLinked(source, subscriber, {
        next: (task) => {
          if (stopped !== undefined) return settle(task, (task.cutReason = stopped(task)));
          // Registered before it is subscribed: a consumer may leave (or a stop come) while it starts.
          const inner = new MergedProcess(task, merged);
          live.set(task, inner);
          project(task).subscribe(inner);
        },
        error: (error: unknown) => {
          cutAll(unsubscribed, false);
          subscriber.error(error);
        },
        complete: () => {
          sourceDone = true;
          completeIfDone();
        },
      });
      return () => cutAll(unsubscribed, false);
    });
}


/** Where the processes of one merge report, shared by all of them. */
interface Merged<T> {
  next(task: PlacedTask<T>, event: EngineEvent<T>): void;
  error(error: unknown): void;
  complete(task: PlacedTask<T>): void;
}

/** One merged process: a Subscriber of its own (unsubscribed alone when it is cut), one object per process. */
class MergedProcess<T> extends Subscriber<EngineEvent<T>> {
  constructor(
    private readonly task: PlacedTask<T>,
    private readonly merged: Merged<T>,
  ) {
    super();
  }

  protected override _next(event: EngineEvent<T>): void {
    this.merged.next(this.task, event);
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
      this.merged.complete(this.task);
    } finally {
      this.unsubscribe();
    }
  }
}

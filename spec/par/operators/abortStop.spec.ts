import { getEventListeners } from 'node:events';
import { CancelledError } from '../../../lib';
import { abortStop$ } from '../../../lib/par/abortStop';
import type { Stop } from '../../../lib/par/mergePlaced';

// abortStop$: the run's AbortSignals as a stop of mergePlaced.
function stopsOf(signals: AbortSignal[] | undefined): { stops: Stop[]; completed: () => boolean; unsubscribe: () => void } {
  const stops: Stop[] = [];
  let completed = false;
  const subscription = abortStop$(signals).subscribe({ next: (stop) => stops.push(stop), complete: () => (completed = true) });
  return { stops, completed: () => completed, unsubscribe: () => subscription.unsubscribe() };
}

const anyTask = undefined as never;

describe('abortStop$', () => {
  test('no signal: completes at once, stopping nothing', () => {
    expect(stopsOf(undefined).completed()).toBe(true);
    expect(stopsOf([]).stops).toEqual([]);
  });

  test('emits one stop at the first abort, a CancelledError of reason aborted with the reason as cause, then completes', () => {
    const first = new AbortController();
    const second = new AbortController();
    const { stops, completed } = stopsOf([first.signal, second.signal]);
    expect(stops).toHaveLength(0);
    second.abort('second');
    first.abort('first');
    expect(stops).toHaveLength(1);
    const error = stops[0]?.(anyTask);
    expect(error).toBeInstanceOf(CancelledError);
    expect(error).toMatchObject({ reason: 'aborted', cause: 'second' });
    expect(completed()).toBe(true);
  });

  test('a signal already aborted stops at subscription', () => {
    const controller = new AbortController();
    controller.abort();
    const { stops, completed } = stopsOf([controller.signal]);
    expect(stops).toHaveLength(1);
    expect(completed()).toBe(true);
  });

  test('every listener leaves with the subscription, and after an abort', () => {
    const a = new AbortController();
    const b = new AbortController();
    const left = stopsOf([a.signal, b.signal]);
    expect(getEventListeners(a.signal, 'abort')).toHaveLength(1);
    left.unsubscribe();
    expect(getEventListeners(a.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(b.signal, 'abort')).toHaveLength(0);
    stopsOf([a.signal, b.signal]);
    a.abort();
    expect(getEventListeners(b.signal, 'abort')).toHaveLength(0);
  });
});

import { map } from 'rxjs';
import { BackendRegistry, FailurePolicy, PLACED_PAR, Placement, Process, ProcessResult } from '../../lib';
import { FakeBackend } from '../../lib/testing';
import { eventCode, marbleScheduler, sleep } from '../support/helpers';

// SPEC 5.3: a backend's concurrencyLimit holds at every instant, across every run that shares the
// backend instance; waiting processes get slots first-come first-served.
describe('SPEC 5.3 a concurrency cap holds across runs, first-come first-served', () => {
  const work = (name: string, ms: number) =>
    Process(name, async (ctx) => {
      await sleep(ms, ctx.signal);
      return ProcessResult.ok(name);
    });

  test('two concurrent runs sharing a backend capped at 2 never exceed 2, and start in arrival order', async () => {
    const backend = new FakeBackend({ name: 'gpu', concurrencyLimit: 2 });
    const registry = new BackendRegistry().register('gpu', backend);
    const on = new Placement({ endpoint: 'gpu' });
    const first = PLACED_PAR(...['a1', 'a2', 'a3', 'a4'].map((name) => [work(name, 15), on] as const), { registry });
    const second = PLACED_PAR(...['b1', 'b2', 'b3'].map((name) => [work(name, 15), on] as const), { registry });
    const [one, two] = await Promise.all([first.run(), second.run()]);
    expect(one.isOk && two.isOk).toBe(true);
    expect(backend.peakConcurrency).toBe(2);
    expect(backend.inFlight).toBe(0);
    expect(backend.names).toEqual(['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'b3']);
  });

  test('waiting processes are announced with a queued event naming the backend', async () => {
    const registry = new BackendRegistry().register('solo', new FakeBackend({ name: 'solo', concurrencyLimit: 1 }));
    const on = new Placement({ endpoint: 'solo' });
    const events: string[] = [];
    await new Promise<void>((resolve) => {
      PLACED_PAR([work('x', 1), on], [work('y', 1), on], { registry }).events$.subscribe({
        next: (event) => events.push(event.type === 'queued' ? `queued:${event.name}@${event.backend}` : eventCode(event)),
        complete: resolve,
      });
    });
    expect(events).toEqual(['started:x#1', 'queued:y@solo', 'settled:x:ok', 'started:y#1', 'settled:y:ok', 'done:ok']);
  });

  test('in virtual time: a cap of 1 runs three 10 ms processes back to back', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const registry = new BackendRegistry().register('one', new FakeBackend({ name: 'one', concurrencyLimit: 1 }));
      const on = new Placement({ endpoint: 'one' });
      const step = (name: string) => Process(name, () => cold('10ms (r|)', { r: ProcessResult.ok(name) }));
      const group = PLACED_PAR([step('a'), on], [step('b'), on], [step('c'), on], { registry, scheduler, onFailure: FailurePolicy.COLLECT });
      expectObservable(group.events$.pipe(map(eventCode))).toBe('(abc) 5ms (de) 6ms (fg) 6ms (hi|)', {
        a: 'started:a#1',
        b: 'queued:b',
        c: 'queued:c',
        d: 'settled:a:ok',
        e: 'started:b#1',
        f: 'settled:b:ok',
        g: 'started:c#1',
        h: 'settled:c:ok',
        i: 'done:ok',
      });
    });
  });

  test("a large group's first process starts before its later pairs are looked up in the registry", async () => {
    // A thousand pairs: the first body should not wait for 999 backend lookups.
    class CountingRegistry extends BackendRegistry {
      lookups = 0;
      override get(placement: Placement) {
        this.lookups += 1;
        return super.get(placement);
      }
    }
    const registry = new CountingRegistry().register('gpu', new FakeBackend({ name: 'gpu', concurrencyLimit: 2 }));
    const on = new Placement({ endpoint: 'gpu' });
    const lookupsAtStart: number[] = [];
    const probe = Process('probe', () => {
      lookupsAtStart.push(registry.lookups);
      return ProcessResult.ok(true);
    });
    const result = await PLACED_PAR(...Array.from({ length: 1000 }, () => [probe, on] as const), { registry }).run();
    expect(result.isOk).toBe(true);
    expect(registry.lookups).toBe(1000);
    expect(lookupsAtStart[0]).toBe(1);
  });
});

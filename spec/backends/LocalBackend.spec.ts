import { firstValueFrom, from, isObservable, of } from 'rxjs';
import { BackendRegistry, ExecutionBackend, LocalBackend, PLACED_PAR, Placement, Process, ProcessContext, ProcessResult, UsageError } from '../../lib';
import { LocalBackend as FromSubpath } from '../../lib/placement';

// SPEC 4: LocalBackend is the default; it runs the process here through execute$, synchronously
// where the process is; `concurrencyLimit` caps it (default Infinity; `concurrency` is its deprecated alias); its name is `local`.
describe('LocalBackend', () => {
  test('is an ExecutionBackend named local, uncapped by default, and healthy', () => {
    const backend = new LocalBackend();
    expect(backend).toBeInstanceOf(ExecutionBackend);
    expect(backend.name).toBe('local');
    expect(backend.concurrencyLimit).toBe(Number.POSITIVE_INFINITY);
    expect(backend.healthCheck()).toBe(true);
  });

  test.each([1, 4, Number.POSITIVE_INFINITY])('concurrency %p becomes its concurrencyLimit', (concurrency) => {
    expect(new LocalBackend({ concurrency }).concurrencyLimit).toBe(concurrency);
  });

  test('an empty options object keeps the defaults', () => {
    expect(new LocalBackend({}).concurrencyLimit).toBe(Number.POSITIVE_INFINITY);
  });

  test('execute runs the process and gives its result', async () => {
    const process = Process('double', (ctx) => ProcessResult.ok(Number(ctx.input) * 2));
    const result = await firstValueFrom(from(new LocalBackend().execute(process, new ProcessContext({ processName: 'double', input: 21 }))));
    expect(result.value).toBe(42);
  });

  test('execute is an Observable that stays synchronous for a synchronous or Observable process', () => {
    const backend = new LocalBackend();
    for (const process of [Process('sync', () => ProcessResult.ok('a')), Process('rx', () => of(ProcessResult.ok('a')))]) {
      const output = backend.execute(process, new ProcessContext({ processName: process.name }));
      expect(isObservable(output)).toBe(true);
      const seen: unknown[] = [];
      output.subscribe((result) => seen.push(result.value));
      expect(seen).toEqual(['a']);
    }
  });

  test('a failing process gives a failed result, not an error', async () => {
    const process = Process('boom', () => {
      throw new Error('boom');
    });
    const result = await firstValueFrom(new LocalBackend().execute(process, new ProcessContext({ processName: 'boom' })));
    expect(result.isFail).toBe(true);
    expect(result.failure.error.message).toBe('boom');
  });

  test('runs PLACED_PAR processes when a registry resolves to it, reporting its name', async () => {
    const local = new LocalBackend({ concurrencyLimit: 2 });
    const registry = new BackendRegistry().register('local', local);
    const seenBackend: (string | undefined)[] = [];
    const process = Process('embed', (ctx) => {
      seenBackend.push(ctx.backend);
      return ProcessResult.ok('vector');
    });
    const result = await PLACED_PAR([process, new Placement({ endpoint: 'local:8080' })], { registry }).run();
    expect(result.value).toEqual(['vector']);
    expect(seenBackend).toEqual(['local']);
  });

  test('the cap is concurrencyLimit; concurrency is its deprecated alias; the two disagreeing is a UsageError', async () => {
    expect(new LocalBackend().concurrencyLimit).toBe(Number.POSITIVE_INFINITY);
    expect(new LocalBackend({ concurrencyLimit: 2 }).concurrencyLimit).toBe(2);
    expect(new LocalBackend({ concurrency: 3 }).concurrencyLimit).toBe(3);
    expect(new LocalBackend({ concurrencyLimit: 3, concurrency: 3 }).concurrencyLimit).toBe(3);
    expect(() => new LocalBackend({ concurrencyLimit: 2, concurrency: 3 })).toThrow(UsageError);
    // The cap holds whichever name set it: 4 processes on a LocalBackend({ concurrencyLimit: 2 }).
    let inFlight = 0;
    let peak = 0;
    const work = (name: string) =>
      Process(name, async () => {
        peak = Math.max(peak, (inFlight += 1));
        await new Promise((resolve) => setTimeout(resolve, 2));
        inFlight -= 1;
        return ProcessResult.ok(name);
      });
    const registry = new BackendRegistry().register('local', new LocalBackend({ concurrencyLimit: 2 }));
    const on = new Placement({ endpoint: 'local' });
    const result = await PLACED_PAR([work('a'), on], [work('b'), on], [work('c'), on], [work('d'), on], { registry }).run();
    expect(result.value).toEqual(['a', 'b', 'c', 'd']);
    expect(peak).toBe(2);
  });

  test('is exported from the stbass/placement subpath too', () => {
    expect(FromSubpath).toBe(LocalBackend);
  });
});

describe('ExecutionBackend', () => {
  test('a subclass is uncapped and healthy unless it says otherwise', () => {
    class Remote extends ExecutionBackend {
      readonly name = 'remote';
      execute(process: Parameters<ExecutionBackend['execute']>[0], ctx: ProcessContext): Promise<ProcessResult> {
        return process.execute(ctx);
      }
    }
    const remote = new Remote();
    expect(remote.concurrencyLimit).toBe(Number.POSITIVE_INFINITY);
    expect(remote.healthCheck()).toBe(true);
  });
});

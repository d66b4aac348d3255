import { NEVER, Observable, of, throwError } from 'rxjs';
import {
  type Backend,
  BackendRegistry,
  BackendUnavailableError,
  DeadlineExceededError,
  FailurePolicy,
  InvalidResultError,
  LocalBackend,
  PLACED_PAR,
  Placement,
  Process,
  ProcessResult,
} from '../../lib';

// SPEC 5.8: whatever a backend or process does becomes that pair's Failure, never a rejected run()
// nor an error on events$. A backend whose health check answers false is not given the process.
describe('SPEC 5.8 whatever a backend does becomes a Failure', () => {
  const behaviours: Record<string, Backend['execute']> = {
    'throws synchronously': () => {
      throw new Error('sync throw');
    },
    rejects: () => Promise.reject(new Error('rejected')),
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the point of the case
    'rejects with a non-Error': () => Promise.reject('a string'),
    'errors its Observable': () => throwError(() => new Error('observable error')),
    'completes empty': () => new Observable<ProcessResult>((subscriber) => subscriber.complete()),
    'emits a non-ProcessResult': () => of(42) as unknown as Observable<ProcessResult>,
    'resolves a non-ProcessResult': () => Promise.resolve({ ok: true }) as unknown as Promise<ProcessResult>,
    'returns something that is not an ObservableInput': () => 7 as unknown as Promise<ProcessResult>,
    'never finishes': () => NEVER,
    'returns a thenable whose then throws': () => ({ then: () => { throw new Error('then throws'); } }),
    'returns a thenable whose then getter throws': () => ({ get then(): never { throw new Error('then getter throws'); } }),
    'returns a revoked Proxy': () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy as unknown as Promise<ProcessResult>;
    },
  };

  test.each(Object.keys(behaviours))('a backend that %s', async (behaviour) => {
    const execute = behaviours[behaviour] as Backend['execute'];
    const registry = new BackendRegistry().register('weird', { name: 'weird', execute });
    const placement = new Placement({ endpoint: 'weird' });
    const group = PLACED_PAR([Process('victim', () => NEVER), placement], { registry, deadline: 0.05, onFailure: FailurePolicy.COLLECT });
    const events: string[] = [];
    let eventsError: unknown;
    group.events$.subscribe({ next: (event) => events.push(event.type), error: (error: unknown) => (eventsError = error) });
    const result = await group.run();
    expect(eventsError).toBeUndefined();
    expect(result.results).toHaveLength(1);
    const failure = result.failures[0];
    expect(failure?.placement).toBe(placement);
    expect(failure?.backend).toBe('weird');
    expect(failure?.processName).toBe('victim');
    if (behaviour === 'never finishes') expect(failure?.error).toBeInstanceOf(DeadlineExceededError);
    if (['completes empty', 'emits a non-ProcessResult', 'resolves a non-ProcessResult', 'returns something that is not an ObservableInput'].includes(behaviour)) {
      expect(failure?.error).toBeInstanceOf(InvalidResultError);
    }
    if (behaviour === 'rejects with a non-Error') expect(failure?.error.cause).toBe('a string');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(events[events.length - 1]).toBe('done');
  });

  test('a process body that returns a hostile thenable or a revoked Proxy fails that pair, and frees its slot for the next', async () => {
    const hostile: Record<string, () => unknown> = {
      'then throws': () => ({ then: () => { throw new Error('then throws'); } }),
      'then getter throws': () => ({ get then(): never { throw new Error('then getter throws'); } }),
      'revoked Proxy': () => {
        const { proxy, revoke } = Proxy.revocable({}, {});
        revoke();
        return proxy;
      },
    };
    const registry = new BackendRegistry().register('one', new LocalBackend({ concurrencyLimit: 1 }));
    const on = new Placement({ endpoint: 'one' });
    const pairs = [...Object.entries(hostile).map(([name, body]) => [Process(name, body as () => Promise<ProcessResult>), on] as const), [Process('after', () => ProcessResult.ok('ran')), on] as const];
    const result = await PLACED_PAR(...pairs, { registry, onFailure: FailurePolicy.COLLECT }).run();
    expect(result.failures.map((failure) => [failure.processName, failure.error.message.length > 0])).toEqual(Object.keys(hostile).map((name) => [name, true]));
    expect(result.at(3).value).toBe('ran');
  });

  test.each([
    ['answers false', () => false, 'answered false'],
    ['throws', () => {
      throw new Error('probe crashed');
    }, 'probe crashed'],
    ['rejects', () => Promise.reject(new Error('probe down')), 'probe down'],
    ['resolves false', () => Promise.resolve(false), 'answered false'],
    ['emits false', () => of(false), 'answered false'],
    ['completes without answering', () => new Observable<boolean>((subscriber) => subscriber.complete()), 'instead of a boolean'],
  ])('a health check that %s keeps the process off the backend', async (_name, healthCheck, message) => {
    let executed = false;
    const backend: Backend = {
      name: 'sick',
      execute: () => {
        executed = true;
        return NEVER;
      },
      healthCheck: healthCheck,
    };
    const registry = new BackendRegistry().register('sick', backend);
    const result = await PLACED_PAR([Process('patient', () => NEVER), new Placement({ endpoint: 'sick' })], { registry }).run();
    expect(executed).toBe(false);
    const error = result.failures[0]?.error;
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(error).toMatchObject({ backend: 'sick' });
    expect(error?.message).toContain(message);
  });

  test('a health check that resolves true lets the process run', async () => {
    const backend: Backend = { name: 'slow-probe', execute: (process, ctx) => process.execute$(ctx), healthCheck: () => Promise.resolve(true) };
    const registry = new BackendRegistry().register('slow-probe', backend);
    const result = await PLACED_PAR([Process('fine', () => of(ProcessResult.ok('fine'))), new Placement({ endpoint: 'slow-probe' })], { registry }).run();
    expect(result.value).toEqual(['fine']);
  });
});

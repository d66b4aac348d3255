import { of, throwError } from 'rxjs';
import { afterHealthCheck } from '../../../lib/par/afterHealthCheck';
import { marbleScheduler } from '../../support/helpers';

const backendWith = (healthCheck: () => unknown) => ({ name: 'b', execute: () => Promise.reject(new Error('unused')), healthCheck: healthCheck as () => boolean });

describe('afterHealthCheck: the source runs only on a healthy backend', () => {
  test('a healthy answer, at once or as an Observable, subscribes the source', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('-a|');
      expectObservable(source.pipe(afterHealthCheck(backendWith(() => true), () => 'u'))).toBe('-a|');
      expectObservable(source.pipe(afterHealthCheck(backendWith(() => cold('--(t|)', { t: true })), () => 'u'))).toBe('---a|');
    });
  });

  test('false, a non-boolean, a throw or an error is unavailable, with what it answered', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('-a|');
      const why = (answer: () => unknown) => source.pipe(afterHealthCheck(backendWith(answer), (unhealthy) => unhealthy.detail));
      expectObservable(why(() => false)).toBe('(u|)', { u: 'its health check answered false' });
      expectObservable(why(() => 'yes')).toBe('(u|)', { u: 'its health check answered yes instead of a boolean' });
      expectObservable(why(() => { throw new Error('no route'); })).toBe('(u|)', { u: 'its health check threw: no route' });
      expectObservable(why(() => throwError(() => new Error('refused')))).toBe('(u|)', { u: 'its health check failed: refused' });
      expectObservable(why(() => of(false))).toBe('(u|)', { u: 'its health check answered false' });
    });
  });

  test('a promise answer waits for the promise', async () => {
    const values: string[] = [];
    await new Promise<void>((resolve) =>
      of('a').pipe(afterHealthCheck(backendWith(() => Promise.resolve(true)), () => 'u')).subscribe({ next: (value) => values.push(value), complete: resolve }),
    );
    expect(values).toEqual(['a']);
  });
});

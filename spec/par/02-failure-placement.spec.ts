import { type Backend, BackendRegistry, FailurePolicy, LocalBackend, PLACED_PAR, Placement, Process, ProcessResult } from '../../lib';

// SPEC 5.2: every failed result's Failure carries that pair's placement and the backend's name.
describe("SPEC 5.2 every failure carries its pair's placement and backend name", () => {
  const opus = new Placement({ model: 'claude-opus-4-5-20250414', endpoint: 'anthropic' });
  const local = new Placement({ model: 'llama-3', endpoint: 'local:8080', config: { temperature: 0.7 } });

  test('for failures of the process, of the backend, and of cancellation', async () => {
    const bareFailingBackend: Backend = { name: 'bare', execute: () => Promise.resolve(ProcessResult.fail(new Error('no context'))) };
    const registry = new BackendRegistry()
      .register('anthropic', new (class extends LocalBackend {
        override readonly name = 'anthropic-sim';
      })())
      .register('local', bareFailingBackend);
    const boom = Process('boom', () => {
      throw new Error('boom');
    });
    const waits = Process('waits', (ctx) => new Promise<ProcessResult>((resolve) => ctx.signal.addEventListener('abort', () => resolve(ProcessResult.ok()))));
    const result = await PLACED_PAR([waits, opus], [boom, opus], [Process('remote', () => ProcessResult.ok()), local], {
      registry,
      onFailure: FailurePolicy.COLLECT,
      deadline: 0.05,
    }).run();

    const [cancelled, failed, remote] = result.results.map((r) => r.failure);
    expect(failed?.placement).toBe(opus);
    expect(failed?.backend).toBe('anthropic-sim');
    expect(cancelled?.placement).toBe(opus);
    expect(cancelled?.backend).toBe('anthropic-sim');
    expect(remote?.placement).toBe(local);
    expect(remote?.backend).toBe('bare');
    expect(remote?.processName).toBe('remote');
  });

  test('even when the process reported a different placement itself', async () => {
    const liar = Process('liar', () => ProcessResult.fail(new Error('x'), { placement: new Placement({ model: 'other' }) }));
    const result = await PLACED_PAR([liar, opus], { onFailure: FailurePolicy.COLLECT }).run();
    expect(result.failures[0]?.placement).toBe(opus);
    expect(result.failures[0]?.backend).toBe('local');
  });
});

import {
  type Backend,
  BackendRegistry,
  BackendUnavailableError,
  ExecutionBackend,
  FailurePolicy,
  LocalBackend,
  PLACED_PAR,
  Placement,
  Process,
  ProcessResult,
  defaultRegistry,
} from '../../lib';
import { BackendRegistry as FromSubpath } from '../../lib/placement';

/** A backend that only identifies itself: resolution tests never run it. */
function named(name: string): Backend {
  return { name, execute: (process, ctx) => process.execute$(ctx) };
}

// SPEC 4: get(placement) tries the endpoint exactly, the endpoint's scheme, the model exactly, then
// the default; strict registries refuse unmatched endpoints and models.
describe('BackendRegistry', () => {
  describe('resolution order', () => {
    const exact = named('exact');
    const scheme = named('scheme');
    const model = named('model');
    const fallback = named('fallback');
    const registry = new BackendRegistry({ default: fallback })
      .register('local:8080', exact)
      .register('local', scheme)
      .register('llama-3', model);

    test.each([
      ['the endpoint exactly, before its scheme and the model', { endpoint: 'local:8080', model: 'llama-3' }, exact],
      ["the endpoint's scheme (before the first ':'), before the model", { endpoint: 'local:9090', model: 'llama-3' }, scheme],
      ['the scheme of an endpoint with several colons', { endpoint: 'local:host:1' }, scheme],
      ['the model exactly when the endpoint matches nothing', { endpoint: 'remote', model: 'llama-3' }, model],
      ['the model exactly when there is no endpoint', { model: 'llama-3' }, model],
      ['the default when nothing matches', { endpoint: 'remote', model: 'gpt' }, fallback],
      ['the default for an empty placement', {}, fallback],
      ['the default for a model that only starts like a registered one', { model: 'llama-3-70b' }, fallback],
      ['the default for an endpoint that only starts like a registered scheme', { endpoint: 'localhost' }, fallback],
    ])('%s', (_description, fields, backend) => {
      expect(registry.get(new Placement(fields))).toBe(backend);
    });

    test('a local:8080 endpoint reaches a backend registered as local', () => {
      const local = new LocalBackend({ concurrencyLimit: 2 });
      const registry = new BackendRegistry().register('local', local);
      expect(registry.get(new Placement({ model: 'nomic', endpoint: 'local:8080' }))).toBe(local);
    });
  });

  describe('registration', () => {
    test('register is chainable and accepts plain objects and ExecutionBackend subclasses', () => {
      class Cloud extends ExecutionBackend {
        readonly name = 'cloud';
        execute(): Promise<ProcessResult> {
          return Promise.resolve(ProcessResult.ok());
        }
      }
      const registry = new BackendRegistry();
      expect(registry.register('a', named('a'))).toBe(registry);
      expect(registry.register('cloud', new Cloud()).has('cloud')).toBe(true);
    });

    test('registering a name again replaces the earlier backend', () => {
      const first = named('first');
      const second = named('second');
      const registry = new BackendRegistry().register('anthropic', first).register('anthropic', second);
      expect(registry.get(new Placement({ endpoint: 'anthropic' }))).toBe(second);
      expect(registry.names).toEqual(['anthropic']);
    });

    test('names lists registered names in registration order', () => {
      const registry = new BackendRegistry().register('b', named('b')).register('a', named('a')).register('c', named('c'));
      expect(registry.names).toEqual(['b', 'a', 'c']);
    });

    test('has answers whether a name is registered', () => {
      const registry = new BackendRegistry().register('anthropic', named('anthropic'));
      expect(registry.has('anthropic')).toBe(true);
      expect(registry.has('openai')).toBe(false);
    });

    test('unregister removes a backend and answers whether there was one', () => {
      const fallback = named('fallback');
      const registry = new BackendRegistry({ default: fallback }).register('anthropic', named('anthropic'));
      expect(registry.unregister('anthropic')).toBe(true);
      expect(registry.unregister('anthropic')).toBe(false);
      expect(registry.has('anthropic')).toBe(false);
      expect(registry.names).toEqual([]);
      expect(registry.get(new Placement({ endpoint: 'anthropic' }))).toBe(fallback);
    });
  });

  describe('default', () => {
    test('is a LocalBackend named local unless one is given', () => {
      const registry = new BackendRegistry();
      expect(registry.default).toBeInstanceOf(LocalBackend);
      expect(registry.default.name).toBe('local');
      expect(registry.strict).toBe(false);
    });

    test('is the backend given in the options', () => {
      const fallback = named('fallback');
      expect(new BackendRegistry({ default: fallback }).default).toBe(fallback);
    });

    test('defaultRegistry is a non-strict BackendRegistry whose default is a LocalBackend', () => {
      expect(defaultRegistry).toBeInstanceOf(BackendRegistry);
      expect(defaultRegistry.default).toBeInstanceOf(LocalBackend);
      expect(defaultRegistry.strict).toBe(false);
    });

    test('is exported from the stbass/placement subpath too', () => {
      expect(FromSubpath).toBe(BackendRegistry);
    });
  });

  describe('strict mode', () => {
    const registry = new BackendRegistry({ strict: true }).register('anthropic', named('anthropic')).register('local', named('local'));

    test('get throws a BackendUnavailableError for an unmatched endpoint, listing the registered names', () => {
      const typo = new Placement({ model: 'claude-opus-4-5-20250414', endpoint: 'antropic' });
      let thrown: unknown;
      try {
        registry.get(typo);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(BackendUnavailableError);
      const error = thrown as BackendUnavailableError;
      expect(error.backend).toBe('antropic');
      expect(error.placement).toBe(typo);
      expect(error.message).toContain('registered: anthropic, local');
      expect(error.message).toContain(typo.summary);
    });

    test('get throws for an unmatched model without an endpoint, naming the model', () => {
      expect(() => registry.get(new Placement({ model: 'gpt-5' }))).toThrow(BackendUnavailableError);
      expect(() => registry.get(new Placement({ model: 'gpt-5' }))).toThrow(/backend "gpt-5".*registered: anthropic, local/);
    });

    test('says "none" when nothing is registered', () => {
      expect(() => new BackendRegistry({ strict: true }).get(new Placement({ endpoint: 'anthropic' }))).toThrow(/registered: none/);
    });

    test('still resolves matches, and sends an empty placement to the default', () => {
      expect(registry.get(new Placement({ endpoint: 'local:8080' })).name).toBe('local');
      expect(registry.get(new Placement({ endpoint: 'nowhere', model: 'anthropic' })).name).toBe('anthropic');
      expect(registry.get(new Placement({}))).toBe(registry.default);
    });

    test('PLACED_PAR turns an unmatched endpoint into that pair\'s Failure, not a throw', async () => {
      const strict = new BackendRegistry({ strict: true }).register('anthropic', new LocalBackend());
      const typo = new Placement({ endpoint: 'antrhopic' });
      let ran = false;
      const misplaced = Process('misplaced', () => {
        ran = true;
        return ProcessResult.ok('should not run');
      });
      const fine = Process('fine', () => ProcessResult.ok('ran'));

      const group = PLACED_PAR([misplaced, typo], [fine, new Placement({ endpoint: 'anthropic' })], {
        registry: strict,
        onFailure: FailurePolicy.COLLECT,
      });
      const result = await group.run();

      expect(ran).toBe(false);
      expect(result.results).toHaveLength(2);
      const failure = result.results[0]?.failure;
      expect(failure?.error).toBeInstanceOf(BackendUnavailableError);
      expect(failure?.error.message).toContain('registered: anthropic');
      expect(failure?.placement).toBe(typo);
      expect(failure?.processName).toBe('misplaced');
      expect(result.results[1]?.value).toBe('ran');
    });
  });
});

import { Placement } from '../../lib';
import { Placement as FromSubpath } from '../../lib/placement';

// SPEC 3: model and endpoint are non-empty strings, config a plain JSON-like object, all optional;
// immutable; `summary` is human readable and `unspecified` when empty.
describe('Placement', () => {
  describe('fields', () => {
    test('keeps the model, endpoint and config it was given', () => {
      const placement = new Placement({ model: 'llama-3', endpoint: 'local:8080', config: { temperature: 0.7 } });
      expect(placement.model).toBe('llama-3');
      expect(placement.endpoint).toBe('local:8080');
      expect(placement.config).toEqual({ temperature: 0.7 });
    });

    test('every field is optional, with or without a fields object', () => {
      for (const placement of [new Placement(), new Placement({})]) {
        expect(placement.model).toBeUndefined();
        expect(placement.endpoint).toBeUndefined();
        expect(placement.config).toBeUndefined();
      }
    });

    test('accepts nested JSON-like config: arrays, nested objects, null, booleans', () => {
      const config = { stop: ['\n\n', 'END'], sampling: { topP: 0.9, seed: null }, stream: true };
      expect(new Placement({ config }).config).toEqual(config);
    });

    test('is exported from the stbass/placement subpath too', () => {
      expect(FromSubpath).toBe(Placement);
    });
  });

  describe('summary', () => {
    test.each([
      [{ model: 'claude-opus-4-5-20250414', endpoint: 'anthropic' }, 'model=claude-opus-4-5-20250414, endpoint=anthropic'],
      [{ model: 'claude-haiku-4-5-20250414' }, 'model=claude-haiku-4-5-20250414'],
      [{ endpoint: 'local:8080' }, 'endpoint=local:8080'],
      [{}, 'unspecified'],
      [{ config: {} }, 'unspecified'],
    ])('of %j is %s', (fields, summary) => {
      expect(new Placement(fields).summary).toBe(summary);
    });

    test('names the model and endpoint first when a config is given', () => {
      const summary = new Placement({ model: 'llama-3', endpoint: 'local:8080', config: { temperature: 0.7 } }).summary;
      expect(summary.startsWith('model=llama-3, endpoint=local:8080')).toBe(true);
      expect(summary).toContain('temperature');
    });

    test('toString wraps the summary', () => {
      expect(String(new Placement({ model: 'opus' }))).toBe('Placement(model=opus)');
    });
  });

  describe('immutability', () => {
    test('the placement is frozen: assigning a field throws in strict mode', () => {
      const placement = new Placement({ model: 'opus' });
      expect(Object.isFrozen(placement)).toBe(true);
      expect(() => {
        (placement as { model: string }).model = 'haiku';
      }).toThrow(TypeError);
      expect(placement.model).toBe('opus');
    });

    test('config is deep-frozen', () => {
      const placement = new Placement({ config: { sampling: { topP: 0.9 }, stop: ['END'] } });
      const config = placement.config as { sampling: { topP: number }; stop: string[] };
      expect(Object.isFrozen(config)).toBe(true);
      expect(Object.isFrozen(config.sampling)).toBe(true);
      expect(Object.isFrozen(config.stop)).toBe(true);
      expect(() => {
        config.sampling.topP = 0.1;
      }).toThrow(TypeError);
      // (No class check here: the array may come from another realm under jest's vm.)
      expect(() => config.stop.push('STOP')).toThrow(/not extensible/);
    });

    test('config is a copy: changing the object it came from does not change the placement', () => {
      const original = { temperature: 0.7, sampling: { topP: 0.9 } };
      const placement = new Placement({ config: original });
      original.temperature = 1;
      original.sampling.topP = 0.1;
      expect(placement.config).toEqual({ temperature: 0.7, sampling: { topP: 0.9 } });
      expect(placement.config).not.toBe(original);
      expect(Object.isFrozen(original)).toBe(false);
    });
  });

  describe('scheme', () => {
    test.each([
      ['local:8080', 'local'],
      ['grpc:host:9000', 'grpc'],
      ['anthropic', undefined],
      [':8080', undefined],
    ])('of endpoint %s is %s (the part before the first ":")', (endpoint, scheme) => {
      expect(new Placement({ endpoint }).scheme).toBe(scheme);
    });

    test('is undefined without an endpoint', () => {
      expect(new Placement({ model: 'opus' }).scheme).toBeUndefined();
    });
  });

  describe('toJSON', () => {
    test('is a plain object with only the given fields, and round-trips through JSON', () => {
      const placement = new Placement({ model: 'llama-3', endpoint: 'local:8080', config: { temperature: 0.7 } });
      expect(placement.toJSON()).toEqual({ model: 'llama-3', endpoint: 'local:8080', config: { temperature: 0.7 } });
      expect(new Placement({ model: 'opus' }).toJSON()).toStrictEqual({ model: 'opus' });
      const revived = new Placement(JSON.parse(JSON.stringify(placement)) as ReturnType<Placement['toJSON']>);
      expect(revived.summary).toBe(placement.summary);
    });
  });
});

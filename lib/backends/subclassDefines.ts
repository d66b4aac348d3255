/**
 * Whether a subclass of `base` defines `key` on its prototypes (a getter, the seed's `@property`, or
 * a method): then `base`'s constructor must not give the instance an own `key`, which would hide it.
 *
 * @example
 * ```ts
 * if (!subclassDefines(this, ModelBackend, 'concurrencyLimit')) this.concurrencyLimit = limit;
 * ```
 */
export function subclassDefines(instance: object, base: { readonly prototype: object }, key: PropertyKey): boolean {
  for (let prototype = Reflect.getPrototypeOf(instance); prototype !== null && prototype !== base.prototype; prototype = Reflect.getPrototypeOf(prototype)) {
    if (Object.hasOwn(prototype, key)) return true;
  }
  return false;
}

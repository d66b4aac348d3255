/**
 * An error that failed a process on a remote worker, rebuilt on the caller with the remote's
 * name, message and stack.
 *
 * @example
 * ```ts
 * const failure = result.failures[0];
 * if (failure?.error instanceof RemoteProcessError) console.log(failure.error.remoteName, failure.backend); // "TypeError", "queue:gpu"
 * ```
 */
export class RemoteProcessError extends Error {
  /** The error's name on the worker, e.g. `TypeError`. */
  readonly remoteName: string;

  constructor(remote: { name: string; message: string; stack?: string | undefined }) {
    super(remote.message);
    this.name = remote.name;
    this.remoteName = remote.name;
    if (remote.stack !== undefined) this.stack = remote.stack;
  }
}

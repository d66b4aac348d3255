/**
 * Empties `Error.stackTraceLimit` for the file's tests, and restores it after. Under jest every stack
 * read is source-mapped, and the failures a property makes by the thousand each read theirs: that
 * cost dominates a case. The checks never look at stacks. Call at the top level of a spec file.
 */
export function withoutStackTraces(): void {
  let stackTraceLimit = Error.stackTraceLimit;
  beforeAll(() => {
    stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
  });
  afterAll(() => {
    Error.stackTraceLimit = stackTraceLimit;
  });
}

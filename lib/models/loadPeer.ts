/**
 * Loads an optional peer dependency (a model SDK) when a backend that needs it is built, so that
 * `stbass/models` imports without either SDK and each backend needs only its own.
 */
export function loadPeer<Module>(name: string, neededBy: string): Module {
  try {
    // A plain require (not createRequire), so a test runner's module registry sees the SDK too.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional peer, loaded on first use
    return require(name) as Module;
  } catch (error) {
    const missing = (error as { code?: unknown }).code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${name}'`);
    if (!missing) throw error;
    throw new Error(`${neededBy} needs the optional peer dependency ${name}: install it with \`npm install ${name}\``, { cause: error });
  }
}

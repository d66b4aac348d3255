import { loadPeer } from '../models/loadPeer';

// `stbass/queue` loads ioredis and BullMQ as it is imported (its classes extend theirs). Imported
// first by the entry, this module names a missing one and the command that installs it, as
// `stbass/models` does for its SDKs, instead of a raw "Cannot find module 'bullmq'" from deep inside.
// Where there is no `require` (an ES-module bundle), the bundler resolves the peers itself; the
// ES-module build leaves this module out (it is not in package.json's sideEffects).
if (typeof require === 'function') {
  loadPeer('ioredis', 'stbass/queue');
  loadPeer('bullmq', 'stbass/queue');
}

import { rmSync } from 'node:fs';
import { packed } from './support';

/** Removes what globalSetup.ts made. */
export default function globalTeardown(): void {
  rmSync(packed().tmp, { recursive: true, force: true });
}

import { endpointsFromEnv, localEndpoints, type Endpoints } from '../../stack/endpoints.ts';

/**
 * The endpoints a test talks to. `npm test` (test/run.ts) exports them; a single file run by hand
 * falls back to the native stack's ports (`npm run stack:up` first).
 */
export function testEndpoints(): Endpoints {
  return endpointsFromEnv() ?? localEndpoints;
}

/** A name no other test run uses, for topics, tables, indices and key prefixes. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

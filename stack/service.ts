import type { Supervised } from './supervisor.ts';

/** One server of the local stack: how to provision, start, probe and describe it. */
export interface Service {
  name: string;
  /** Directory of its pid and log files when it is not `name` under the stack home. */
  dir?: string;
  /** Where clients reach it, as shown by `stack:status`. */
  address: string;
  /** Every port it listens on, checked before it starts. */
  ports: number[];
  /** Downloads and prepares what the server needs; idempotent and cached. */
  provision(): Promise<void>;
  /** Starts the server detached and returns its pid. */
  start(): Promise<number>;
  /** True once the server answers real requests. */
  ready(): Promise<boolean>;
  /** The version the running server reports. */
  version(): Promise<string>;
  readyTimeoutMs: number;
}

/** What the supervisor knows the service's process by. */
export const supervised = (service: Service): Supervised =>
  service.dir === undefined ? service.name : { name: service.name, dir: service.dir };

export async function fetchJson(url: string, init?: RequestInit): Promise<unknown> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}

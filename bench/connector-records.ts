import { connectorMetrics } from '../connector/metrics.ts';

/** Change events this process's connector has written so far (every stream, every unit). */
export async function recordsWritten(): Promise<number> {
  return (await connectorMetrics.records.get()).values.reduce((sum, value) => sum + value.value, 0);
}

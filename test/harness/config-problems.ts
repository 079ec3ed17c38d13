import { validateConfig } from '../../cli/config/load.ts';
import { ConfigError } from '../../core/config/load.ts';

/** The smallest valid config: one table, a broker and a registry. */
export const minimalConfig = {
  kafka: { brokers: ['127.0.0.1:9092'] },
  registry: { url: 'http://127.0.0.1:8081/apis/ccompat/v7' },
  connector: { tables: [{ name: 'orders' }] },
};

/** What validation says of a raw config, each problem with its key; none when it is valid. */
export function problemsOf(raw: unknown): string[] {
  try {
    validateConfig(raw);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

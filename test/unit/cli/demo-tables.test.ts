import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../../cli/config/load.ts';
import { CliError, EXIT } from '../../../cli/context.ts';
import { runDemo } from '../../../cli/demo/demo.ts';
import { endpointsFromEnv } from '../../../stack/endpoints.ts';

// Without the endpoints exported the demo would bring the stack up first: never from a test.
test(
  'the demo refuses a config that names no table (rules only) with a message, before it touches anything',
  { skip: endpointsFromEnv() ? false : 'needs the SHARDLINE_* endpoints exported' },
  async () => {
    const config = validateConfig({
      kafka: { brokers: ['127.0.0.1:9092'] },
      registry: { url: 'http://127.0.0.1:8081/apis/ccompat/v7' },
      connector: { tables: [{ match: 'orders-*', entities: ['order'] }] },
    });
    await assert.rejects(
      runDemo(config, { rate: 1, check: false, seed: 1 }),
      (error: unknown) =>
        error instanceof CliError &&
        error.exitCode === EXIT.config &&
        /the demo writes to the first table named in connector\.tables/.test(error.message),
    );
  },
);

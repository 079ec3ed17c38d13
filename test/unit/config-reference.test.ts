import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { configReference, withReference } from '../../cli/config/reference.ts';
import { configSchema } from '../../cli/config/schema.ts';

test("the README's configuration reference is the one the schema generates (npm run docs:config)", () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  assert.equal(
    readme,
    withReference(readme, configReference(configSchema)),
    'README.md is stale: run npm run docs:config',
  );
});

test('the reference has a row per key with its default and description', () => {
  const reference = configReference(configSchema);
  assert.match(reference, /^\| `kafka\.brokers` \| `string\[\]` \| required \| `host:port` list/m);
  assert.match(
    reference,
    /^\| `consumers\.cache\.partitionsConsumedConcurrently` \| `integer` \| `1` \| Partitions applied at once/m,
  );
  assert.match(reference, /^\| `consumers\.audit\.redact` \| `\{ <name>: drop \\\| mask \\\| hash \}` \| `\{\}` \|/m);
});

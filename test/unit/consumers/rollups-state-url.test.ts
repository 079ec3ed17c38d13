import assert from 'node:assert/strict';
import { test } from 'node:test';
import { urlCharsOf } from '../../../consumers/rollups/state.ts';

test("a key's URL characters are never counted short of what the client sends (quoted, escaped, URL-encoded)", () => {
  const keys = [
    'PK=S:ORDER#123456|SK=S:ORDER#123456',
    "PK=S:O'Brien|SK=S:back\\slash",
    'PK=S:ünïcødé-🚀|SK=S:日本',
    'PK=N:1|SK=B:AAEC/w==',
  ];
  for (const key of keys) {
    // As @clickhouse/client writes an Array(String) parameter's element, then URLSearchParams encodes it.
    const element = `'${key.replace(/['\\]/g, '\\$&')}',`;
    const sent = new URLSearchParams({ p: element }).toString().length - 'p='.length;
    assert.ok(urlCharsOf(key) >= sent, `${key}: counted ${urlCharsOf(key)}, sent ${sent}`);
  }
});

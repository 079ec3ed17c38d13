import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';

/**
 * Instances of a scaled-out connector are processes of their own, each with its codec: the first event of a
 * new topic is registered by every instance whose units write to it, often at the same moment (found by the
 * scale-out bench: two instances released together, one stopped). Each must get the subject's id.
 * Marked todo: the fix belongs in schemas/registry.ts (setCompatibility), outside the scale-out's files.
 */
test(
  'instances registering one new subject at the same moment all get its id',
  {
    todo: 'schemas/registry.ts: a 409 on setting the subject compatibility (another instance set it first) is not accepted',
  },
  async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const topic = uniqueName('scale-out-registration');
      const codecs = Array.from(
        { length: 4 },
        () => new ChangeEventCodec({ url: testEndpoints().registryUrl }, 'BACKWARD'),
      );
      const outcomes = await Promise.allSettled(codecs.map((codec) => codec.schemaId(topic)));
      const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [String(outcome.reason)] : []));
      assert.deepEqual(refused, [], `attempt ${attempt}`);
      const ids = new Set(outcomes.map((outcome) => (outcome as PromiseFulfilledResult<number>).value));
      assert.equal(ids.size, 1);
    }
  },
);

import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { isUnavailable } from '../../../core/unavailable.ts';
import { ChangeEventCodec, SchemaRegistrationError } from '../../../schemas/registry.ts';

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** A registry answering each method with the status given, as Apicurio does when another instance set the level first. */
function registryAnswering(statuses: { PUT: number; GET: number; GETBody?: unknown }): void {
  globalThis.fetch = (async (_url: string | URL | Request, init?: RequestInit) => {
    const method = (init?.method ?? 'GET') as 'PUT' | 'GET';
    const status = statuses[method];
    const body = method === 'GET' && status === 200 ? JSON.stringify(statuses.GETBody) : '{"message":"busy"}';
    return new Response(body, { status });
  }) as typeof fetch;
}

test('a 409 on setting the level whose read-back the registry cannot answer is retried as unavailable, not refused', async () => {
  registryAnswering({ PUT: 409, GET: 503 });
  const codec = new ChangeEventCodec({ url: 'http://registry.invalid' });
  await assert.rejects(codec.schemaId('orders'), (error: unknown) => {
    assert.ok(!(error instanceof SchemaRegistrationError), `refused for good: ${String(error)}`);
    assert.ok(isUnavailable(error), `not unavailable: ${String(error)}`);
    return true;
  });
});

test('a 409 whose read-back names another level, set again and refused again, is a refusal naming the answer', async () => {
  registryAnswering({ PUT: 409, GET: 200, GETBody: { compatibilityLevel: 'NONE' } });
  const codec = new ChangeEventCodec({ url: 'http://registry.invalid' });
  await assert.rejects(codec.schemaId('orders'), (error: unknown) => {
    assert.ok(error instanceof SchemaRegistrationError);
    assert.match(error.message, /setting compatibility BACKWARD answered 409/);
    return true;
  });
});

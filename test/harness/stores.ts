import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { Client as OpenSearchClient } from '@opensearch-project/opensearch';
import { Redis } from 'ioredis';
import { normalizeDecimal } from '../../schemas/decimal.ts';
import { testEndpoints } from './endpoints.ts';

/** The table's final contents, read directly from DynamoDB: the ground truth for search and cache. */
export async function scanTable(dynamodb: DynamoDBClient, table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({ TableName: table, ExclusiveStartKey: start as never, ConsistentRead: true }),
    );
    items.push(
      ...(page.Items ?? []).map(
        (item) =>
          JSON.parse(
            JSON.stringify(unmarshall(item, { wrapNumbers: true }), (_key, value: unknown) =>
              value && typeof value === 'object' && 'value' in value && Object.keys(value).length === 1
                ? (value as { value: string }).value
                : value,
            ),
          ) as Record<string, unknown>,
      ),
    );
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** What a search for everything through the entity's alias returns (tombstones are filtered by the alias). */
export async function searchAll(alias: string): Promise<Map<string, Record<string, unknown>>> {
  const client = new OpenSearchClient({ node: testEndpoints().opensearchUrl });
  await client.indices.refresh({ index: alias });
  const response = await client.search({ index: alias, body: { size: 10_000, query: { match_all: {} } } });
  await client.close();
  return new Map(
    (response.body.hits.hits as { _id: string; _source: Record<string, unknown> }[]).map((hit) => [
      hit._id,
      hit._source,
    ]),
  );
}

/** Every cached item of a key prefix: item key -> hash fields. */
export async function cachedItems(prefix: string): Promise<Map<string, Record<string, string>>> {
  const redis = new Redis(testEndpoints().redisUrl);
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    keys.push(...found);
    cursor = next;
  } while (cursor !== '0');
  const items = new Map<string, Record<string, string>>();
  for (const key of keys) items.set(key, await redis.hgetall(key));
  redis.disconnect();
  return items;
}

/** Orders in the table, as the search documents and cache entries should show them (amounts as exact two-place decimal text). */
export function expectedOrders(
  items: Record<string, unknown>[],
): Map<string, { category: unknown; status: unknown; total: unknown; user_id: unknown }> {
  return new Map(
    items
      .filter((item) => String(item.PK).startsWith('ORDER#'))
      .map((item) => [
        `PK=S:${item.PK}|SK=S:${item.SK}`,
        {
          category: item.category,
          status: item.status,
          total: normalizeDecimal(String(item.total), 2),
          user_id: item.user_id,
        },
      ]),
  );
}

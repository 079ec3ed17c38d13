import {
  DescribeTableCommand,
  ListTablesCommand,
  ListTagsOfResourceCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { isResourceNotFound } from '../shards/errors.ts';
import { isRefused } from './errors.ts';
import type { ListedTable } from './rules.ts';

/** Every table of the account and region, page by page (ListTables gives 100 at most per call). */
export async function listTableNames(dynamodb: DynamoDBClient): Promise<string[]> {
  const names: string[] = [];
  let start: string | undefined;
  do {
    const page = await dynamodb.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    names.push(...(page.TableNames ?? []));
    start = page.LastEvaluatedTableName;
  } while (start);
  return names;
}

/** A table's tags; undefined when the table was deleted since it was listed. */
export async function tagsOf(dynamodb: DynamoDBClient, table: string): Promise<Map<string, string> | undefined> {
  let arn: string | undefined;
  try {
    arn = (await dynamodb.send(new DescribeTableCommand({ TableName: table }))).Table?.TableArn;
  } catch (error) {
    if (isResourceNotFound(error)) return undefined;
    throw error;
  }
  const tags = new Map<string, string>();
  let next: string | undefined;
  do {
    let page;
    try {
      page = await dynamodb.send(new ListTagsOfResourceCommand({ ResourceArn: arn, NextToken: next }));
    } catch (error) {
      if (isResourceNotFound(error)) return undefined;
      throw error;
    }
    for (const { Key, Value } of page.Tags ?? []) if (Key !== undefined) tags.set(Key, Value ?? '');
    next = page.NextToken;
  } while (next);
  return tags;
}

/**
 * The tables, with their tags when `withTags` (a tag rule needs them: one DescribeTable and one
 * ListTagsOfResource call per table, so a pattern rule alone lists much more cheaply).
 */
export async function listTables(dynamodb: DynamoDBClient, withTags: boolean): Promise<ListedTable[]> {
  const names = await listTableNames(dynamodb);
  if (!withTags) return names.map((name) => ({ name }));
  const listed: ListedTable[] = [];
  for (const name of names) {
    try {
      const tags = await tagsOf(dynamodb, name);
      if (tags) listed.push({ name, tags });
    } catch (error) {
      // One table the credentials may not read (a policy on that table): the others are still found.
      if (!isRefused(error)) throw error;
      listed.push({ name, tagsRefused: (error as Error).name || 'HTTP 403' });
    }
  }
  return listed;
}

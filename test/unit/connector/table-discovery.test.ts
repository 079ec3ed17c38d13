import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ListTagsOfResourceCommand,
} from '@aws-sdk/client-dynamodb';
import { validateConfig } from '../../../cli/config/load.ts';
import { ConfigError } from '../../../core/config/load.ts';
import { logger } from '../../../core/logger.ts';
import { discoveryFailure } from '../../../connector/discovery/errors.ts';
import { PeriodicDiscovery } from '../../../connector/discovery/periodic.ts';
import { resolveRules, ruleMatches } from '../../../connector/discovery/rules.ts';
import { listTables } from '../../../connector/discovery/table-listing.ts';
import { TableDiscovery, TableNotReady } from '../../../connector/discovery/table-discovery.ts';
import { tablePatternRegExp } from '../../../connector/discovery/table-pattern.ts';
import { problemsOf } from '../../harness/config-problems.ts';

const minimal = {
  kafka: { brokers: ['127.0.0.1:9092'] },
  registry: { url: 'http://127.0.0.1:8081/apis/ccompat/v7' },
};

const problemsOfTables = (tables: unknown[]): string[] => problemsOf({ ...minimal, connector: { tables } });

test('a table pattern matches whole names: * any run, ? one character, everything else literally', () => {
  const orders = tablePatternRegExp('orders-*');
  assert.ok(orders.test('orders-eu'));
  assert.ok(orders.test('orders-'));
  assert.ok(!orders.test('old-orders-eu'));
  assert.ok(!orders.test('orders'));
  const month = tablePatternRegExp('sales.2026-0?');
  assert.ok(month.test('sales.2026-01'));
  assert.ok(!month.test('sales.2026-012'));
  // A dot is a dot, not any character.
  assert.ok(!month.test('salesX2026-01'));
});

test('a tag rule matches the key with that value only', () => {
  const rule = { tag: { key: 'cdc', value: 'on' } };
  assert.ok(ruleMatches(rule, { name: 't1', tags: new Map([['cdc', 'on']]) }));
  assert.ok(!ruleMatches(rule, { name: 't2', tags: new Map([['cdc', 'off']]) }));
  assert.ok(!ruleMatches(rule, { name: 't3', tags: new Map([['team', 'on']]) }));
  assert.ok(!ruleMatches(rule, { name: 't4' }));
});

test('each table takes the first rule that matches; named tables keep their own entry; the order is by name', () => {
  const rules = [
    { match: 'orders-eu*', id: 'eu' },
    { match: 'orders-*', id: 'any' },
    { tag: { key: 'cdc', value: 'on' }, id: 'tagged' },
  ];
  const resolved = resolveRules(
    rules,
    [
      { name: 'orders-us', tags: new Map() },
      { name: 'orders-eu-1', tags: new Map() },
      { name: 'payments', tags: new Map([['cdc', 'on']]) },
      { name: 'orders-named', tags: new Map() },
      { name: 'users', tags: new Map() },
    ],
    new Set(['orders-named']),
  );
  assert.deepEqual(
    resolved.map(({ table, rule }) => [table, rule.id]),
    [
      ['orders-eu-1', 'eu'],
      ['orders-us', 'any'],
      ['payments', 'tagged'],
    ],
  );
});

test('config: discovery rules are parsed apart from the named tables, with the interval', () => {
  const config = validateConfig({
    ...minimal,
    connector: {
      tables: [
        { name: 'orders' },
        { match: 'orders-*', snapshot: { enabled: true } },
        { tag: { key: 'cdc', value: 'on' }, entities: ['order'] },
      ],
      discovery: { intervalMs: 5_000 },
    },
  });
  assert.deepEqual(
    config.connector.tables.map((table) => table.name),
    ['orders'],
  );
  assert.equal(config.connector.discovery.intervalMs, 5_000);
  const [match, tag] = config.connector.discovery.rules;
  assert.equal(match!.match, 'orders-*');
  assert.equal(match!.snapshot.enabled, true);
  assert.equal(match!.index, 1);
  assert.deepEqual(tag!.tag, { key: 'cdc', value: 'on' });
  assert.equal(tag!.index, 2);
  assert.equal(
    validateConfig({ ...minimal, connector: { tables: [{ match: '*' }] } }).connector.discovery.intervalMs,
    60_000,
  );
});

test('config: a bad rule is named by its key', () => {
  assert.match(
    problemsOfTables([{ match: 'orders-*', name: 'orders' }])[0]!,
    /^connector\.tables\[0\]: .*exactly one of name.*match.*tag/,
  );
  assert.match(problemsOfTables([{ entities: ['order'] }])[0]!, /^connector\.tables\[0\]: .*exactly one of name/);
  assert.match(
    problemsOfTables([{ match: 'orders/*' }])[0]!,
    /^connector\.tables\[0\]\.match: got "orders\/\*"; expected a table name pattern/,
  );
  assert.match(problemsOfTables([{ tag: { key: 'cdc' } }])[0]!, /^connector\.tables\[0\]\.tag\.value: /);
  assert.match(
    problemsOfTables([{ name: 'orders' }, { match: 'orders-*', source: 'kinesis', kinesisStream: 's' }]).join('\n'),
    /connector\.tables\[1\]\.source: .*discovery rule \(match or tag\) reads DynamoDB Streams only/,
  );
  assert.match(
    problemsOfTables([{ tag: { key: 'cdc', value: 'on' }, kinesisStream: 's' }]).join('\n'),
    /connector\.tables\[0\]\.kinesisStream: .*list that table by name/,
  );
  assert.match(
    problemsOfTables([{ match: 'orders-*', entities: ['order'], entity: { keyPrefix: { fallback: 'item' } } }])[0]!,
    /^connector\.tables\[0\]\.entity\.keyPrefix\.fallback: 'item' is not one of the table's entities/,
  );
  try {
    validateConfig({ ...minimal, connector: { tables: [{ match: '*' }], discovery: { intervalMs: 10 } } });
    assert.fail('accepted a 10 ms interval');
  } catch (error) {
    assert.match((error as ConfigError).problems[0]!, /^connector\.discovery\.intervalMs: got 10/);
  }
});

/** A DynamoDB client whose `send` answers from the handler (no server: only the calls discovery makes). */
function stubDynamoDb(answer: (command: object) => unknown): DynamoDBClient {
  const client = new DynamoDBClient({ region: 'us-east-1' });
  client.send = (async (command: object) => answer(command)) as never;
  return client;
}

test('tables are listed page by page, and their tags only when a tag rule asks for them', async () => {
  const calls: string[] = [];
  const dynamodb = stubDynamoDb((command) => {
    calls.push(command.constructor.name);
    if (command instanceof ListTablesCommand)
      return command.input.ExclusiveStartTableName === undefined
        ? { TableNames: ['a', 'b'], LastEvaluatedTableName: 'b' }
        : { TableNames: ['c'] };
    if (command instanceof DescribeTableCommand) {
      if (command.input.TableName === 'b')
        throw Object.assign(new Error('gone'), { name: 'ResourceNotFoundException' });
      return { Table: { TableArn: `arn:${command.input.TableName}` } };
    }
    if (command instanceof ListTagsOfResourceCommand)
      return command.input.NextToken === undefined
        ? { Tags: [{ Key: 'cdc', Value: 'on' }], NextToken: 'next' }
        : { Tags: [{ Key: 'team', Value: command.input.ResourceArn }] };
    throw new Error(`unexpected ${command.constructor.name}`);
  });
  assert.deepEqual(await listTables(dynamodb, false), [{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
  assert.deepEqual(calls, ['ListTablesCommand', 'ListTablesCommand']);
  // b was deleted between the listing and its description: left out.
  assert.deepEqual(await listTables(dynamodb, true), [
    {
      name: 'a',
      tags: new Map([
        ['cdc', 'on'],
        ['team', 'arn:a'],
      ]),
    },
    {
      name: 'c',
      tags: new Map([
        ['cdc', 'on'],
        ['team', 'arn:c'],
      ]),
    },
  ]);
});

test('discovery failures: refused credentials are fatal with the permissions named; throttling and outages retry', () => {
  const aws = (name: string, status: number) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  const denied = discoveryFailure(aws('AccessDeniedException', 400));
  assert.equal(denied.kind, 'fatal');
  assert.match(denied.error.message, /refused \(AccessDeniedException\).*dynamodb:ListTables/);
  assert.equal(discoveryFailure(aws('ThrottlingException', 400)).kind, 'retry');
  assert.equal(discoveryFailure(aws('ServiceUnavailable', 503)).kind, 'retry');
  assert.equal(discoveryFailure(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' })).kind, 'retry');
});

test('a round starts each new match once, tries a table that is not ready again, and keeps a table that stops matching', async () => {
  let names = ['orders-1', 'orders-2'];
  const dynamodb = stubDynamoDb(() => ({ TableNames: names }));
  const started: string[] = [];
  let streamOn = false;
  const discovery = new TableDiscovery({
    dynamodb,
    rules: [{ match: 'orders-*' }],
    named: new Set(),
    start: async (table) => {
      if (table === 'orders-2' && !streamOn) throw new TableNotReady('no stream');
      started.push(table);
    },
    logger,
  });
  await discovery.round();
  assert.deepEqual(started, ['orders-1']);
  streamOn = true;
  await discovery.round();
  assert.deepEqual(started, ['orders-1', 'orders-2']);
  names = ['orders-2', 'orders-3'];
  await discovery.round();
  assert.deepEqual(started, ['orders-1', 'orders-2', 'orders-3']);
  assert.deepEqual([...discovery.started.keys()].sort(), ['orders-1', 'orders-2', 'orders-3']);
});

test('the periodic round retries a throttled listing with backoff, runs again every interval, and stops on refused credentials', async () => {
  const awsError = (name: string) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: 400 } });
  let calls = 0;
  const answers = [awsError('ThrottlingException'), awsError('ThrottlingException'), 'ok', 'ok'];
  const periodic = new PeriodicDiscovery({
    intervalMs: 20,
    backoff: { baseMs: 5, maxMs: 10, attempts: Infinity },
    logger,
    round: async () => {
      const answer = answers[calls++] ?? awsError('AccessDeniedException');
      if (answer !== 'ok') throw answer;
    },
  });
  // The first round is waited for, its retries included.
  await periodic.start();
  assert.equal(calls, 3);
  // Two more, one an interval after the other; then refused credentials end the rounds.
  await assert.rejects(periodic.failed, /table discovery was refused \(AccessDeniedException\)/);
  assert.equal(calls, 5);
  await sleep(60);
  assert.equal(calls, 5, 'no round after a fatal one');
  await periodic.stop();
});

test('a table deleted and created again under its name is started again: its new stream is read', async () => {
  let stream = 'arn:stream/1';
  const dynamodb = stubDynamoDb((command) => {
    if (command instanceof ListTablesCommand) return { TableNames: ['orders-1'] };
    if (command instanceof DescribeTableCommand) return { Table: { LatestStreamArn: stream } };
    throw new Error(`unexpected ${command.constructor.name}`);
  });
  const started: string[] = [];
  const discovery = new TableDiscovery({
    dynamodb,
    rules: [{ match: 'orders-*' }],
    named: new Set(),
    start: async (table) => {
      started.push(`${table} ${stream}`);
    },
    logger,
  });
  await discovery.round();
  await discovery.round();
  assert.deepEqual(started, ['orders-1 arn:stream/1']);
  stream = 'arn:stream/2';
  await discovery.round();
  assert.deepEqual(started, ['orders-1 arn:stream/1', 'orders-1 arn:stream/2']);
});

test('a table the credentials may not describe or list the tags of is left for a later round; the others start', async () => {
  const refused = () =>
    Object.assign(new Error('not authorized'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
  let allowed = false;
  const dynamodb = stubDynamoDb((command) => {
    if (command instanceof ListTablesCommand) return { TableNames: ['orders-1', 'orders-2', 'tagged-1', 'tagged-2'] };
    const name = (command as { input: { TableName?: string; ResourceArn?: string } }).input;
    const table = name.TableName ?? name.ResourceArn!.slice('arn:'.length);
    if (!allowed && command instanceof DescribeTableCommand && table === 'orders-2') throw refused();
    if (!allowed && command instanceof ListTagsOfResourceCommand && table === 'tagged-2') throw refused();
    if (command instanceof DescribeTableCommand)
      return { Table: { TableArn: `arn:${table}`, LatestStreamArn: `stream:${table}` } };
    if (command instanceof ListTagsOfResourceCommand) return { Tags: [{ Key: 'cdc', Value: 'on' }] };
    throw new Error(`unexpected ${command.constructor.name}`);
  });
  const started: string[] = [];
  const discovery = new TableDiscovery({
    dynamodb,
    rules: [{ match: 'orders-*' }, { tag: { key: 'cdc', value: 'on' } }],
    named: new Set(),
    start: async (table) => {
      started.push(table);
    },
    logger,
  });
  await discovery.round();
  assert.deepEqual(started, ['orders-1', 'tagged-1']);
  allowed = true;
  await discovery.round();
  assert.deepEqual(started, ['orders-1', 'tagged-1', 'orders-2', 'tagged-2']);
});

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig, validateConfig } from '../../cli/config/load.ts';
import { defaultOrderView } from '../../consumers/rollups/definition.ts';
import { minimalConfig, problemsOf } from '../harness/config-problems.ts';
import { batchSizeOf } from '../../cli/config/schema.ts';
import { audit } from '../../consumers/audit/index.ts';
import { cache } from '../../consumers/cache/index.ts';
import { rollups } from '../../consumers/rollups/index.ts';
import { search } from '../../consumers/search/index.ts';

const minimal = minimalConfig;

test('a minimal file gets the documented defaults', () => {
  const config = validateConfig(minimal);
  assert.equal(config.connector.gapPolicy, 'fail');
  assert.equal(config.connector.topics.template, 'shardline.{table}.{entity}');
  // Parsed into the rule the sources take: the table's entities default to every configured entity.
  assert.deepEqual(config.connector.tables[0]!.entity, {
    kind: 'key-prefix',
    attribute: 'PK',
    separator: '#',
    declared: ['order'],
  });
  assert.equal(config.connector.startPosition, 'TRIM_HORIZON');
  assert.deepEqual(
    config.consumers.rollups.definitions.map((rollup) => rollup.name),
    ['daily_sales', 'user_totals'],
  );
  assert.equal(config.consumers.audit.retentionDays, 90);
  assert.equal(config.clickhouse.url, undefined);
});

test('every problem is listed with its key, the value and what is expected', () => {
  const problems = problemsOf({
    ...minimal,
    kafka: { brokers: ['localhost'] },
    connector: { tables: [{ name: 'orders' }], gapPolicy: 'ignore' },
    extra: 1,
  });
  assert.equal(problems.length, 3);
  assert.ok(
    problems.some((problem) => problem.startsWith('kafka.brokers[0]: got "localhost"; expected host:port')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some(
      (problem) => problem.startsWith('connector.gapPolicy: got "ignore"') && /fail.*resnapshot.*skip/.test(problem),
    ),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((problem) => /^\(top level\): .*extra/.test(problem)),
    problems.join('\n'),
  );
});

test('missing required sections are named', () => {
  const problems = problemsOf({});
  assert.ok(problems.some((problem) => problem.startsWith('kafka: got nothing')));
  assert.ok(problems.some((problem) => problem.startsWith('registry: got nothing')));
  assert.ok(problems.some((problem) => problem.startsWith('connector: got nothing')));
});

test('a kinesis table needs its stream; a sum needs a numeric field', () => {
  assert.ok(
    problemsOf({ ...minimal, connector: { tables: [{ name: 'orders', source: 'kinesis' }] } })[0]!.startsWith(
      'connector.tables[0].kinesisStream: ',
    ),
  );
  const problems = problemsOf({
    ...minimal,
    consumers: {
      rollups: {
        definitions: [
          {
            name: 'bad',
            entity: 'order',
            dimensions: [{ name: 'c', field: 'category' }],
            measures: [{ name: 's', kind: 'sum', field: 'category' }],
          },
        ],
      },
    },
  });
  assert.deepEqual(problems, [
    "consumers.rollups.definitions[0].measures[0].field: sums need a decimal or integer field; 'category' is a string",
  ]);
});

test('checks against the entities name the full key of what does not fit', () => {
  const problems = problemsOf({
    ...minimal,
    consumers: {
      rollups: {
        definitions: [
          {
            name: 'r',
            entity: 'order',
            dimensions: [
              { name: 'd', field: 'total', transform: 'day' },
              { name: 'x', field: 'nope' },
            ],
            measures: [{ name: 'n', kind: 'count' }],
          },
          {
            name: 'q',
            entity: 'invoice',
            dimensions: [{ name: 'd', field: 'day' }],
            measures: [{ name: 'n', kind: 'count' }],
          },
        ],
      },
      search: { documents: { order: { text: ['missing'] }, invoice: {} } },
    },
  });
  assert.deepEqual(problems, [
    "consumers.rollups.definitions[0].dimensions[0].transform: day needs a timestamp field; 'total' is a decimal",
    "consumers.rollups.definitions[0].dimensions[1].field: 'nope' is not a field of order",
    "consumers.rollups.definitions[1].entity: 'invoice' is not a declared entity (entities.invoice.fields)",
    "consumers.search.documents.order.text: 'missing' is not a field of order",
    "consumers.search.documents.invoice: 'invoice' is not a declared entity",
  ]);
});

test('each consumer group takes its own batchSize and partitionsConsumedConcurrently', () => {
  const config = validateConfig({
    ...minimal,
    consumers: { batchSize: 200, audit: { batchSize: 5000, partitionsConsumedConcurrently: 3 } },
  });
  assert.equal(config.consumers.audit.batchSize, 5000);
  assert.equal(config.consumers.audit.partitionsConsumedConcurrently, 3);
  assert.equal(batchSizeOf(config.consumers, audit), 5000);
  assert.equal(batchSizeOf(config.consumers, rollups), 200, 'a group without its own takes consumers.batchSize');
  assert.equal(config.consumers.rollups.partitionsConsumedConcurrently, 1);
  // Without consumers.batchSize, each group takes what suits its store.
  const defaults = validateConfig(minimal).consumers;
  assert.deepEqual(
    [audit, rollups, search, cache].map((sink) => [sink.name, batchSizeOf(defaults, sink)]),
    [
      ['audit', 10_000],
      ['rollups', 10_000],
      ['search', 2_000],
      ['cache', 500],
    ],
  );
  assert.deepEqual(
    problemsOf({ ...minimal, consumers: { cache: { batchSize: 0, partitionsConsumedConcurrently: 1.5 } } }),
    [
      'consumers.cache.batchSize: got 0; Too small: expected number to be >0',
      'consumers.cache.partitionsConsumedConcurrently: got 1.5; expected int, received number',
    ],
  );
});

test('secrets are never echoed in errors', () => {
  const problems = problemsOf({
    ...minimal,
    kafka: { brokers: ['127.0.0.1:9092'], sasl: { mechanism: 'plain', username: 'u', password: '' } },
  });
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^kafka\.sasl\.password: got \[redacted\]/);
  // A problem with the object holding them (an unknown key beside them) shows the object: its secrets stay hidden.
  const [objectProblem] = problemsOf({
    ...minimal,
    aws: {
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIA', secretAccessKey: 'hunter2', sessionToken: 'tok3n', extra: 1 },
    },
  });
  assert.ok(objectProblem?.startsWith('aws.credentials'), objectProblem);
  assert.doesNotMatch(objectProblem!, /hunter2|tok3n/);
});

test('the file is YAML; the environment overrides endpoints and any key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardline-config-'));
  const path = join(dir, 'shardline.yaml');
  writeFileSync(
    path,
    'kafka:\n  brokers: [kafka:9092]\nregistry:\n  url: http://registry:8080/apis/ccompat/v7\nconnector:\n  tables:\n    - name: orders\n',
  );
  const config = loadConfig(path, {
    SHARDLINE_KAFKA_BROKERS: '10.0.0.1:9092,10.0.0.2:9092',
    SHARDLINE_CONFIG__connector__gapPolicy: 'skip',
    SHARDLINE_CONFIG__consumers__batchSize: '50',
  });
  assert.deepEqual(config.kafka.brokers, ['10.0.0.1:9092', '10.0.0.2:9092']);
  assert.equal(config.connector.gapPolicy, 'skip');
  assert.equal(config.consumers.batchSize, 50);
  writeFileSync(path, 'kafka: [unclosed');
  assert.throws(() => loadConfig(path, {}), /not valid YAML/);
  assert.throws(() => loadConfig(join(dir, 'missing.yaml'), {}), /cannot read/);
});

test('a decimal scale must leave at least 2 integer digits in Decimal(38, scale)', () => {
  const withScale = (scale: number) => ({
    ...minimal,
    entities: { order: { fields: { ...defaultOrderView, total: { attribute: 'total', type: 'decimal', scale } } } },
  });
  assert.deepEqual(problemsOf(withScale(36)), []);
  assert.deepEqual(problemsOf(withScale(37)), [
    'entities.order.fields.total.scale: got 37; expected at most 36 decimal places (a Decimal(38, scale) column keeps 38 - scale integer digits; at least 2 are needed)',
  ]);
  assert.deepEqual(problemsOf(withScale(38)).length, 1);
});

test('startPosition latest starts new streams at their tip, unless a table is snapshotted (the stream then starts at its oldest record)', () => {
  const startOf = (snapshot: boolean) =>
    validateConfig({
      ...minimal,
      connector: { startPosition: 'latest', tables: [{ name: 'orders', snapshot: { enabled: snapshot } }] },
    }).connector.startPosition;
  assert.equal(startOf(false), 'LATEST');
  assert.equal(startOf(true), 'TRIM_HORIZON');
});

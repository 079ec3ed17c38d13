import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseStackOptions } from '../../../stack/cli.ts';
import { kafkaClusterLayout, serverProperties } from '../../../stack/kafka-config.ts';
import { stackHome } from '../../../stack/paths.ts';
import { kafkaBrokers, kafkaServices } from '../../../stack/stack.ts';

/** server.properties as a map, to compare settings rather than text. */
const settings = (properties: string): Map<string, string> =>
  new Map(
    properties
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string]),
  );

test('the single default node votes alone on 9093, serves 9092 and keeps one replica of everything', () => {
  const layout = kafkaClusterLayout(1, 9092, () => '/stack/kafka');
  const node = settings(serverProperties(layout, layout.nodes[0]!));
  assert.equal(node.get('node.id'), '1');
  assert.equal(node.get('controller.quorum.voters'), '1@127.0.0.1:9093');
  assert.equal(node.get('listeners'), 'PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093');
  assert.equal(node.get('advertised.listeners'), 'PLAINTEXT://127.0.0.1:9092');
  assert.equal(node.get('log.dirs'), '/stack/kafka/data');
  for (const key of [
    'default.replication.factor',
    'min.insync.replicas',
    'offsets.topic.replication.factor',
    'transaction.state.log.replication.factor',
    'transaction.state.log.min.isr',
  ]) {
    assert.equal(node.get(key), '1', key);
  }
  assert.deepEqual(
    kafkaServices().map(({ name, address, ports }) => ({ name, address, ports })),
    [{ name: 'kafka', address: '127.0.0.1:9092', ports: [9092, 9093] }],
  );
  assert.equal(kafkaBrokers({ brokers: 1 }), '127.0.0.1:9092');
});

test('a three-node cluster counts its ports up from the base, lists every node as a voter, and keeps three replicas with two in sync', () => {
  const layout = kafkaClusterLayout(3, 19092, (id) => `/tmp/c/node-${id}`);
  assert.deepEqual(
    layout.nodes.map(({ id, brokerPort, controllerPort }) => [id, brokerPort, controllerPort]),
    [
      [1, 19092, 19093],
      [2, 19094, 19095],
      [3, 19096, 19097],
    ],
  );
  const second = settings(serverProperties(layout, layout.nodes[1]!));
  assert.equal(second.get('node.id'), '2');
  assert.equal(second.get('controller.quorum.voters'), '1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097');
  assert.equal(second.get('listeners'), 'PLAINTEXT://127.0.0.1:19094,CONTROLLER://127.0.0.1:19095');
  assert.equal(second.get('advertised.listeners'), 'PLAINTEXT://127.0.0.1:19094');
  assert.equal(second.get('log.dirs'), '/tmp/c/node-2/data');
  for (const key of [
    'default.replication.factor',
    'offsets.topic.replication.factor',
    'transaction.state.log.replication.factor',
    'share.coordinator.state.topic.replication.factor',
  ]) {
    assert.equal(second.get(key), '3', key);
  }
  for (const key of ['min.insync.replicas', 'transaction.state.log.min.isr', 'share.coordinator.state.topic.min.isr'])
    assert.equal(second.get(key), '2', key);
});

test('two nodes keep two replicas and tolerate one in sync; more than three keep three', () => {
  assert.deepEqual(pick(kafkaClusterLayout(2, 9092, String)), [2, 1]);
  assert.deepEqual(pick(kafkaClusterLayout(5, 9092, String)), [3, 2]);
  assert.throws(() => kafkaClusterLayout(0, 9092, String), /whole number of brokers/);
});

const pick = ({ replicationFactor, minInsyncReplicas }: ReturnType<typeof kafkaClusterLayout>): number[] => [
  replicationFactor,
  minInsyncReplicas,
];

test('stack:up --brokers 3 runs kafka-1..3 on 9092/9094/9096, each in its own directory of the cluster', () => {
  const options = parseStackOptions(['--brokers', '3']);
  assert.deepEqual(options, { brokers: 3 });
  assert.deepEqual(parseStackOptions(['--brokers=3']), { brokers: 3 });
  assert.deepEqual(
    kafkaServices(options).map(({ name, ports, dir }) => ({ name, ports, dir })),
    [1, 2, 3].map((id) => ({
      name: `kafka-${id}`,
      ports: [9090 + 2 * id, 9091 + 2 * id],
      dir: join(stackHome, 'kafka-cluster-9092', `node-${id}`),
    })),
  );
  assert.equal(kafkaBrokers(options), '127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096');
  assert.deepEqual(parseStackOptions([]), {});
  assert.throws(() => parseStackOptions(['--brokers', 'three']), /--brokers needs a whole number/);
  assert.throws(() => parseStackOptions(['--nodes', '3']), /unknown option '--nodes'/);
});

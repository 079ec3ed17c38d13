import { createRequire } from 'node:module';

/**
 * KafkaJS is no longer developed, so its internals stay as they are: the modules of it that Shardline
 * replaces in Node's module cache (its record encoder and decoder, its grouping of a send's messages)
 * are replaced only on the version they were checked against.
 */
const CHECKED_VERSION = '2.2.4';

export const kafkaJsRequire = createRequire(import.meta.url);

export function isCheckedKafkaJs(): boolean {
  return (kafkaJsRequire('kafkajs/package.json') as { version: string }).version === CHECKED_VERSION;
}

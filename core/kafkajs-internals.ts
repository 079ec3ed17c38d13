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

/** A KafkaJS module as its file has it, also when the module cache holds a replacement (for comparing them). */
export function originalKafkaJsModule<T>(module: string): T {
  const path = kafkaJsRequire.resolve(module);
  const cached = kafkaJsRequire.cache[path];
  delete kafkaJsRequire.cache[path];
  try {
    return kafkaJsRequire(path) as T;
  } finally {
    if (cached) kafkaJsRequire.cache[path] = cached;
  }
}

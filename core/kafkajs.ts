// First, before KafkaJS loads: its sends take their grouping function when they are loaded (see the module).
import './kafkajs-grouping.ts';
import kafkajs from 'kafkajs';

// KafkaJS 2.2.4 passes an absolute timestamp to setTimeout in its request queue (tulios/kafkajs#1751);
// Node 24 clamps it to 1 ms, which is what KafkaJS meant, and warns each time. Only that warning is dropped.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const name =
    typeof warning === 'string'
      ? typeof rest[0] === 'string'
        ? rest[0]
        : (rest[0] as { type?: string } | undefined)?.type
      : warning.name;
  if (name === 'TimeoutNegativeWarning') return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

/**
 * KafkaJS's values, as Shardline runs it: every module takes them from here rather than from 'kafkajs'
 * (types may come from there), so whichever module a process loads first, KafkaJS loads after the
 * replacements of its internals that must be in place before it.
 */
export default kafkajs;
export { AssignerProtocol, Kafka, logLevel, Partitioners } from 'kafkajs';

// First, before KafkaJS loads: its sends take their grouping function when they are loaded (see the module).
import './kafkajs-grouping.ts';
import kafkajs from 'kafkajs';

/**
 * KafkaJS's values, as Shardline runs it: every module takes them from here rather than from 'kafkajs'
 * (types may come from there), so whichever module a process loads first, KafkaJS loads after the
 * replacements of its internals that must be in place before it.
 */
export default kafkajs;
export { AssignerProtocol, Kafka, logLevel, Partitioners } from 'kafkajs';

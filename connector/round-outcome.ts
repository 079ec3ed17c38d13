import type { Message, TopicMessages } from 'kafkajs';
import { SchemaRegistrationError } from '../schemas/registry.ts';
import { classifyError, describeError, FatalError, isFenced } from '../core/errors.ts';
import { GapError } from './shards/shard-reader.ts';

/**
 * The connector's exactly-once decisions, apart from the I/O that carries them out: what a round's
 * transaction holds and in which order, and what a failed round does next.
 */

/** A send failed inside a transaction (aborted since): the round is read again with a new producer. */
export class ProducerReset extends Error {
  constructor(cause: unknown) {
    super(`a send failed; the transaction was aborted and the producer is replaced: ${describeError(cause)}`, {
      cause,
    });
    this.name = 'ProducerReset';
  }
}

/** A commit (or the abort after a failed send) that did not answer: whether Kafka holds the round is unknown. */
export class CommitUncertain extends Error {
  constructor(cause: unknown) {
    super(`the transaction's outcome is unknown: ${describeError(cause)}`, { cause });
    this.name = 'CommitUncertain';
  }
}

/**
 * Fatal: the gap policy says stop, the registry refused the schema (retrying cannot change its answer),
 * another instance with the same transactional id fenced this one, or anything the one classification
 * calls fatal (a programming error, credentials refused).
 */
export function isFatal(error: unknown): boolean {
  if (error instanceof GapError || error instanceof SchemaRegistrationError) return true;
  return (
    classifyError(error instanceof CommitUncertain || error instanceof ProducerReset ? error.cause : error) === 'fatal'
  );
}

/**
 * How long a round's transaction may stay open (the producer's `transactionTimeout`, KafkaJS's default): past
 * it the coordinator aborts it and moves the producer's epoch on, and its next request is refused as fenced.
 */
export const TRANSACTION_TIMEOUT_MS = 60_000;

/**
 * Fenced, and not by the coordinator timing out a transaction open longer than it allows (a send retried through
 * a long broker outage): then another instance with the same transactional id owns it now.
 */
const takenOver = (error: unknown, openMs: number): boolean => isFenced(error) && openMs < TRANSACTION_TIMEOUT_MS;

/**
 * A send of the round failed, and its transaction was aborted (`openMs` after it began). Fenced: another
 * instance owns the id now. Otherwise the producer is replaced even though the transaction was aborted:
 * KafkaJS winds a partition's sequence back after a send whose records the broker may hold, and the same
 * epoch would then send the next round as their duplicate (acknowledged, not written) or out of order
 * (refused for ever).
 */
export function sendFailure(error: unknown, openMs: number): unknown {
  return takenOver(error, openMs) ? error : new ProducerReset(error);
}

/** The commit did not answer (`openMs` after the transaction began): unless fenced, whether Kafka holds the round is unknown. */
export function commitFailure(error: unknown, openMs: number): unknown {
  return takenOver(error, openMs) ? error : new CommitUncertain(error);
}

/**
 * What the connector's `failed` rejects with. Fenced: another instance started with the same name (its
 * transactional id) took over, said so with what to change; KafkaJS's own words, which name only an old epoch,
 * follow, and the fenced error stays the cause (`isFenced` still finds it).
 */
export function connectorFailure(error: Error, name: string): Error {
  if (!isFenced(error)) return error;
  return new FatalError(
    `another instance with connector.name "${name}" took over (it fenced this one's transactional id), so ` +
      'this one stopped: the two never write at once. Give each deployment its own connector.name, or set ' +
      `connector.scaleOut to share the tables among instances (${describeError(error)})`,
    { cause: error },
  );
}

/**
 * What the loop does after a failed round:
 * - `stop`: fatal, the connector stops;
 * - `recover`: the producer's state is unknown (a commit without an answer, a send after which the epoch
 *   must change), or a recovery that failed half-way must run again: a new producer fences the old epoch
 *   and the readers go on from the checkpoints Kafka holds;
 * - `rewind`: nothing was committed (Kafka, the registry or AWS did not answer): every reader reads again
 *   from its committed position.
 */
export type FailedRoundAction = 'stop' | 'recover' | 'rewind';

export function afterFailedRound(error: unknown, recoveryPending: boolean): FailedRoundAction {
  if (isFatal(error)) return 'stop';
  if (recoveryPending || error instanceof CommitUncertain || error instanceof ProducerReset) return 'recover';
  return 'rewind';
}

/**
 * The checkpoints a round starts with: those still pending (a re-snapshot begun after a gap) go into the
 * same transaction as the stream positions read after the gap. `pending` says how many to drop once it commits.
 */
export function openingCheckpoints(pending: readonly Message[]): { checkpoints: Message[]; pending: number } {
  return { checkpoints: [...pending], pending: pending.length };
}

/**
 * The transaction's last send: its dead letters, then the checkpoints that move the shards past them, so
 * a position is never committed without the records that could not be written at it.
 */
export function closingMessages(
  topics: { deadLetter: string; checkpoints: string },
  deadLetters: Message[],
  checkpoints: Message[],
): TopicMessages[] {
  const closing: TopicMessages[] = [
    { topic: topics.deadLetter, messages: deadLetters },
    { topic: topics.checkpoints, messages: checkpoints },
  ];
  return closing.filter(({ messages }) => messages.length > 0);
}

import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { changeEventSchema, fromAvro, toAvro, type AvroChangeEvent, type ChangeEvent } from './change-event.ts';

export interface RegistryConnection {
  url: string;
  username?: string;
  password?: string;
}

export type Compatibility = keyof typeof COMPATIBILITY;

/** The subject of a topic's value schema (Confluent's TopicNameStrategy). */
export const valueSubject = (topic: string): string => `${topic}-value`;

/**
 * Encodes and decodes change events in the Confluent wire format (magic byte, schema id, Avro body).
 * Schema ids are registered once per subject and cached; decoding caches schemas by id.
 */
export class ChangeEventCodec {
  readonly registry: SchemaRegistry;
  private readonly subjectIds = new Map<string, Promise<number>>();

  constructor(connection: RegistryConnection, private readonly compatibility: Compatibility = 'BACKWARD') {
    this.registry = new SchemaRegistry({
      host: connection.url,
      auth: connection.username ? { username: connection.username, password: connection.password ?? '' } : undefined,
    });
  }

  /** Registers the change-event schema under the topic's subject (idempotent) and returns its id. */
  schemaId(topic: string): Promise<number> {
    const subject = valueSubject(topic);
    let id = this.subjectIds.get(subject);
    if (!id) {
      id = this.registry
        .register({ type: SchemaType.AVRO, schema: changeEventSchema }, { subject, compatibility: COMPATIBILITY[this.compatibility] })
        .then((registered) => registered.id);
      id.catch(() => this.subjectIds.delete(subject));
      this.subjectIds.set(subject, id);
    }
    return id;
  }

  async encode(topic: string, event: ChangeEvent): Promise<Buffer> {
    return this.registry.encode(await this.schemaId(topic), toAvro(event));
  }

  async decode(buffer: Buffer): Promise<ChangeEvent> {
    return fromAvro((await this.registry.decode(buffer)) as AvroChangeEvent);
  }
}

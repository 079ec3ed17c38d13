import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { isUnavailable } from '../core/unavailable.ts';
import { readChangeEvent } from './change-event-reader.ts';
import { changeEventSchema, fromAvro, toAvro, type AvroChangeEvent, type ChangeEvent } from './change-event.ts';
import { ChangeEventWriter, NotDirectlyWritable } from './change-event-writer.ts';

export interface RegistryConnection {
  url: string;
  username?: string;
  password?: string;
  /** How long one request may wait for its answer before it fails (and is retried); default 30 s. */
  requestTimeoutMs?: number;
}

const REQUEST_TIMEOUT_MS = 30_000;

export type Compatibility = keyof typeof COMPATIBILITY;

/** The subject of a topic's value schema (Confluent's TopicNameStrategy). */
export const valueSubject = (topic: string): string => `${topic}-value`;

/** A registry's answer, its body read whole. */
export interface RegistryAnswer {
  status: number;
  ok: boolean;
  body: string;
}

/**
 * One call of the Confluent-compatible REST API, for what the client library does not offer. The body is
 * always read: undici releases a connection only once its body is read or cancelled, and a test whose
 * earlier answers were left unread saw a later request on that origin go unanswered for 30 s.
 */
export async function registryRequest(
  connection: RegistryConnection,
  path: string,
  method: 'GET' | 'POST' | 'PUT',
  body?: unknown,
): Promise<RegistryAnswer> {
  const auth = connection.username
    ? {
        authorization: `Basic ${Buffer.from(`${connection.username}:${connection.password ?? ''}`).toString('base64')}`,
      }
    : {};
  const response = await fetch(`${connection.url.replace(/\/$/, '')}${path}`, {
    method,
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json', ...auth },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(connection.requestTimeoutMs ?? REQUEST_TIMEOUT_MS),
  });
  return { status: response.status, ok: response.ok, body: await response.text() };
}

/**
 * An answer about the connection rather than a record (credentials, permissions, a bad request): such a
 * failure must not send the record to a dead-letter topic. 404 stays a record's fault (an unknown
 * schema id) once `checkAccess` has shown that the URL is right.
 */
export function isRegistryRefusal(error: unknown): boolean {
  const status = (error as { status?: unknown } | null)?.status;
  return (
    typeof status === 'number' &&
    status >= 400 &&
    status < 500 &&
    status !== 404 &&
    status !== 429 &&
    !isUnavailable(error)
  );
}

/**
 * The registry refused the change-event schema or its compatibility setting: no record is at fault, so
 * the connector stops instead of dead-lettering every event of the topic.
 */
export class SchemaRegistrationError extends Error {
  constructor(
    readonly subject: string,
    cause: unknown,
  ) {
    super(
      `the schema registry refused the change-event schema for subject ${subject}: ${(cause as Error).message ?? String(cause)}`,
      { cause },
    );
    this.name = 'SchemaRegistrationError';
  }
}

/** The change-event type, compiled once: avsc generates its writer from the schema. */
const changeEventType = avro.Type.forSchema(JSON.parse(changeEventSchema) as avro.Schema);

/** Bytes per arena: a few hundred events. */
const ARENA_BYTES = 1 << 20;
/** The Confluent wire format's header: magic byte 0, then the schema id as a big-endian int32. */
const HEADER_BYTES = 5;

/**
 * Writes events in the Confluent wire format into shared arenas: one allocation per megabyte instead of
 * three per event (avsc's buffer, the id's, the concatenation). Each value is a slice of an arena that
 * is never written again, so its bytes never change; an arena is freed with the last message holding it.
 * Events are written straight from their DynamoDB form (change-event-writer.ts); one the direct writer
 * leaves goes through `toAvro` and avsc, which write it or throw what they always threw.
 */
class FramedAvroWriter {
  private readonly direct = new ChangeEventWriter(ARENA_BYTES);

  write(schemaId: number, event: ChangeEvent): Buffer {
    const writer = this.direct;
    const start = writer.begin(HEADER_BYTES);
    writer.buffer[start] = 0;
    writer.buffer.writeInt32BE(schemaId, start + 1);
    try {
      writer.event(event);
    } catch (error) {
      writer.discard();
      if (!(error instanceof NotDirectlyWritable)) throw error;
      const header = Buffer.alloc(HEADER_BYTES);
      header.writeInt32BE(schemaId, 1);
      return Buffer.concat([header, changeEventType.toBuffer(toAvro(event))]);
    }
    return writer.finish();
  }
}

/** Encodes change events for one topic, synchronously: the topic's schema id is known. */
export type EventEncoder = (event: ChangeEvent) => Buffer;

/**
 * Encodes and decodes change events in the Confluent wire format (magic byte, schema id, Avro body).
 * Schema ids are registered once per subject and cached; decoding caches schemas by id.
 */
export class ChangeEventCodec {
  readonly registry: SchemaRegistry;
  private readonly subjectIds = new Map<string, Promise<number>>();
  private readonly writer = new FramedAvroWriter();
  /** Each schema id seen: its writer type, or `direct` when it is the change-event schema itself. */
  private readonly writerTypes = new Map<number, avro.Type | 'direct'>();

  constructor(
    private readonly connection: RegistryConnection,
    private readonly compatibility: Compatibility = 'BACKWARD',
  ) {
    // The client (mappersmith) sets no timeout of its own: a registry that stopped answering held the
    // connector's round, or a group's batch, for ever with nothing logged. Its timeout error is retried.
    const timeout = connection.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.registry = new SchemaRegistry({
      host: connection.url,
      auth: connection.username ? { username: connection.username, password: connection.password ?? '' } : undefined,
      middlewares: [() => ({ prepareRequest: async (next) => (await next()).enhance({ timeout }) })],
    });
  }

  /**
   * Fails with what to fix when the registry URL or the credentials are wrong, before any record could
   * be blamed for it. A registry that does not answer is left to the callers' retries.
   */
  async checkAccess(): Promise<void> {
    const response = await registryRequest(this.connection, '/config', 'GET').catch((error: unknown) => {
      if (isUnavailable(error)) return undefined;
      throw error;
    });
    if (!response || response.ok || isUnavailable({ status: response.status })) return;
    throw new Error(
      `the schema registry at ${this.connection.url} answered ${response.status} to GET /config: check registry.url ` +
        '(the base of its Confluent-compatible API, e.g. http://host:8081/apis/ccompat/v7 for Apicurio) and registry.username/password',
    );
  }

  /**
   * Sets the subject's compatibility, then registers the change-event schema under it (both idempotent)
   * and returns its id. The setting comes first: registering first and setting it after (what the
   * client library does) leaves a subject without it when the process dies in between, and later
   * registrations then find the registry's global level and are refused.
   */
  schemaId(topic: string): Promise<number> {
    const subject = valueSubject(topic);
    let id = this.subjectIds.get(subject);
    if (!id) {
      id = this.register(subject);
      id.catch(() => this.subjectIds.delete(subject));
      this.subjectIds.set(subject, id);
    }
    return id;
  }

  /**
   * Credentials that may register schemas but not change settings (common with managed registries) are
   * fine when the subject already has the wanted level; otherwise the refusal names what to do. Instances
   * that meet a new topic together set its level at once: Apicurio answers all but the first with 409 (the
   * rule exists), which is fine when the level the first one set is the wanted one.
   */
  private async setCompatibility(subject: string, attempts = 2): Promise<void> {
    const path = `/config/${encodeURIComponent(subject)}`;
    const response = await registryRequest(this.connection, path, 'PUT', { compatibility: this.compatibility });
    if (response.ok) return;
    const refusal = `setting compatibility ${this.compatibility} answered ${response.status}: ${response.body}`;
    if (response.status === 409) {
      if ((await this.levelOf(path)) === this.compatibility) return;
      // Set by another instance to another level meanwhile: the rule now exists, and a PUT updates it.
      if (attempts > 1) return this.setCompatibility(subject, attempts - 1);
    }
    if (response.status === 401 || response.status === 403) {
      // The level in effect: the subject's own, else the registry's global one.
      if ((await this.levelOf(`${path}?defaultToGlobal=true`)) === this.compatibility) return;
      throw Object.assign(
        new Error(
          `${refusal}; set the subject's compatibility to ${this.compatibility} with other credentials, or change registry.compatibility`,
        ),
        { status: response.status },
      );
    }
    throw Object.assign(new Error(refusal), { status: response.status });
  }

  /**
   * A config path's compatibility level; undefined when the registry has none or will not say. A registry
   * that does not answer (5xx, 429) throws as unavailable, so the registration is retried, not refused.
   */
  private async levelOf(path: string): Promise<string | undefined> {
    const current = await registryRequest(this.connection, path, 'GET');
    if (current.ok) return (JSON.parse(current.body) as { compatibilityLevel?: string }).compatibilityLevel;
    const failure = Object.assign(new Error(`reading ${path} answered ${current.status}: ${current.body}`), {
      status: current.status,
    });
    if (isUnavailable(failure)) throw failure;
    return undefined;
  }

  private async register(subject: string): Promise<number> {
    try {
      await this.setCompatibility(subject);
      // The setting is done above; the library would otherwise set it again after a first registration.
      const registered = await this.registry.register(
        { type: SchemaType.AVRO, schema: changeEventSchema },
        { subject, compatibility: COMPATIBILITY[this.compatibility], updateConfig: false },
      );
      return registered.id;
    } catch (error) {
      if (isUnavailable(error)) throw error;
      throw new SchemaRegistrationError(subject, error);
    }
  }

  /**
   * The topic's encoder, once its schema id is registered. It writes with the schema as compiled here,
   * which is the schema registered under that id: the same bytes the registry client would write with
   * the schema it fetches by id, without a lookup per event. A value avsc cannot write fails with avsc's
   * error, whose message is the one the client passes on.
   */
  async encoder(topic: string): Promise<EventEncoder> {
    const schemaId = await this.schemaId(topic);
    return (event) => this.writer.write(schemaId, event);
  }

  async encode(topic: string, event: ChangeEvent): Promise<Buffer> {
    return (await this.encoder(topic))(event);
  }

  /**
   * `decode` without waiting, for a value whose schema id was seen before; undefined when it was not (or
   * the value is not in the wire format), which `decode` then looks up. Throws what `decode` throws for a
   * body that does not read.
   */
  decodeKnown(buffer: Buffer): ChangeEvent | undefined {
    const known =
      buffer.length >= HEADER_BYTES && buffer[0] === 0 ? this.writerTypes.get(buffer.readInt32BE(1)) : undefined;
    if (known === 'direct') return readChangeEvent(buffer, HEADER_BYTES);
    if (known) return fromAvro(known.fromBuffer(buffer.subarray(HEADER_BYTES)) as AvroChangeEvent);
    return undefined;
  }

  /**
   * Decodes as the registry client does (magic byte, schema id, the id's writer schema), with the
   * writer types of the ids seen kept here: later events of an id are read without the client's lookups,
   * and those written with the change-event schema itself straight into a ChangeEvent (change-event-reader.ts).
   */
  async decode(buffer: Buffer): Promise<ChangeEvent> {
    const known = this.decodeKnown(buffer);
    if (known) return known;
    const schemaId = buffer.length >= HEADER_BYTES && buffer[0] === 0 ? buffer.readInt32BE(1) : undefined;
    const event = fromAvro((await this.registry.decode(buffer)) as AvroChangeEvent);
    if (schemaId !== undefined) {
      const writer = await this.registry.getSchema(schemaId);
      if (writer instanceof avro.Type)
        this.writerTypes.set(schemaId, writer.equals(changeEventType) ? 'direct' : writer);
    }
    return event;
  }
}

import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { registerRawInsert } from './insert.ts';

type InjectedConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

/** Where ClickHouse is: a server by URL, or the embedded engine bound to a data directory. */
export type ClickHouseTarget =
  | { kind: 'server'; url: string; username?: string; password?: string; database?: string }
  | { kind: 'embedded'; path: string };

/**
 * The one place a ClickHouse client is made. Callers get the same `@clickhouse/client` API either way;
 * the embedded engine arrives through the client's injected connection (chdb/connection).
 */
export async function connectClickHouse(target: ClickHouseTarget): Promise<ClickHouseClient> {
  // Money read back as JSON must stay a string, or Decimals lose digits past 2^53.
  // Trailing zeros are kept so that money reads back as written ("10.50").
  const clickhouse_settings = {
    output_format_json_quote_decimals: 1,
    output_format_json_quote_64bit_integers: 1,
    output_format_decimal_trailing_zeros: 1,
  } as const;
  if (target.kind === 'server') {
    return createClient({
      url: target.url,
      username: target.username,
      password: target.password,
      database: target.database,
      clickhouse_settings,
    });
  }
  // Loaded lazily: a server deployment never needs the native engine.
  const { createChdbConnection } = await import('chdb/connection');
  // chdb types its connection against its own copy of @clickhouse/client-common; the runtime contract
  // is the one the client checks, so the two structurally equal types are bridged here once.
  const connection = createChdbConnection({ path: target.path });
  const client = createClient({ connection: connection as unknown as InjectedConnection, clickhouse_settings });
  registerRawInsert(client, (params) => connection.chdb.rawInsert(params));
  return client;
}

/** The chDB engine version bundled with the embedded mode. */
export async function embeddedEngineVersion(): Promise<string> {
  const chdb = await import('chdb');
  return chdb.query('SELECT version()', 'TSV').trim();
}

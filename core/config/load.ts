import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ENDPOINT_VARIABLES } from '../../stack/endpoints.ts';
import { checkRollup, type RollupDefinition } from '../../consumers/rollups/definition.ts';
import type { EntityView } from '../../schemas/views.ts';
import { configSchema, type ShardlineConfig } from './schema.ts';

/** An invalid configuration: every problem, each naming the key, the value and what is expected. */
export class ConfigError extends Error {
  constructor(readonly problems: string[], source: string) {
    super(`invalid configuration (${source}):\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const OVERRIDE_PREFIX = 'SHARDLINE_CONFIG__';

/** The endpoint variables of the stack map onto config keys, so tests, the demo and users share one scheme. */
const ENDPOINT_KEYS: [string, string[], (value: string) => unknown][] = [
  [ENDPOINT_VARIABLES.kafkaBrokers, ['kafka', 'brokers'], (value) => value.split(',').map((broker) => broker.trim()).filter(Boolean)],
  [ENDPOINT_VARIABLES.registryUrl, ['registry', 'url'], String],
  [ENDPOINT_VARIABLES.awsEndpoint, ['aws', 'endpoint'], String],
  [ENDPOINT_VARIABLES.clickhouseUrl, ['clickhouse', 'url'], String],
  [ENDPOINT_VARIABLES.opensearchUrl, ['consumers', 'search', 'url'], String],
  [ENDPOINT_VARIABLES.redisUrl, ['consumers', 'cache', 'url'], String],
];

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}

/**
 * Environment overrides: the endpoint variables, and SHARDLINE_CONFIG__<key>__<key>=<YAML value> for any
 * key (secrets belong here rather than in the file).
 */
export function applyEnvironment(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const config = structuredClone(raw);
  for (const [variable, path, convert] of ENDPOINT_KEYS) {
    const value = env[variable];
    if (value) setPath(config, path, convert(value));
  }
  for (const [variable, value] of Object.entries(env)) {
    if (!variable.startsWith(OVERRIDE_PREFIX) || value === undefined) continue;
    setPath(config, variable.slice(OVERRIDE_PREFIX.length).split('__'), parseYaml(value));
  }
  return config;
}

const show = (value: unknown): string => {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/** Validates a raw configuration object; throws ConfigError listing every problem. */
export function validateConfig(raw: unknown, source = 'configuration'): ShardlineConfig {
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('').replace(/^\./, '') || '(top level)';
      const secretKey = /password|secret|token/i.test(key);
      return `${key}: got ${secretKey ? '[redacted]' : show(issue.input)}; ${issue.message.replace(/^Invalid input: /, '')}`;
    });
    throw new ConfigError(problems, source);
  }
  const config = result.data;
  const problems = config.consumers.rollups.definitions.flatMap((rollup) => checkRollup(rollup as RollupDefinition, config.entities[rollup.entity]?.fields as EntityView | undefined));
  for (const [entity, transform] of Object.entries(config.consumers.search.documents)) {
    const fields = config.entities[entity]?.fields;
    if (!fields) problems.push(`consumers.search.documents.${entity}: '${entity}' is not a declared entity`);
    else for (const field of [...(transform.fields ?? []), ...transform.text, ...Object.keys(transform.rename)]) {
      if (!fields[field]) problems.push(`consumers.search.documents.${entity}: '${field}' is not a field of ${entity}`);
    }
  }
  config.connector.tables.forEach((table, index) => {
    // The fallback entity needs a topic that consumer groups read.
    const fallback = 'keyPrefix' in table.entity ? table.entity.keyPrefix.fallback : undefined;
    const declared = table.entities.length > 0 ? table.entities : Object.keys(config.entities);
    if (fallback !== undefined && !declared.includes(fallback)) problems.push(`connector.tables[${index}].entity.keyPrefix.fallback: '${fallback}' is not one of the table's entities (${declared.join(', ')})`);
  });
  if (problems.length > 0) throw new ConfigError(problems, source);
  return config;
}

/** Reads the YAML file (if any), applies the environment, validates. */
export function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): ShardlineConfig {
  let raw: Record<string, unknown> = {};
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new ConfigError([`cannot read ${path}: ${(error as Error).message}`], path);
    }
    try {
      raw = (parseYaml(text) ?? {}) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError([`not valid YAML: ${(error as Error).message}`], path);
    }
  }
  return validateConfig(applyEnvironment(raw, env), path ?? 'environment');
}

import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { CROSS_FIELD } from './common.ts';

/** An invalid configuration: every problem, each naming the key, the value and what is expected. */
export class ConfigError extends Error {
  constructor(
    readonly problems: string[],
    source: string,
  ) {
    super(`invalid configuration (${source}):\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const OVERRIDE_PREFIX = 'SHARDLINE_CONFIG__';

/** An environment variable that sets a config key: the variable, the key's path, and how its text becomes the value. */
export type EndpointKey = readonly [variable: string, path: readonly string[], convert: (value: string) => unknown];

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
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
export function applyEnvironment(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  endpointKeys: readonly EndpointKey[],
): Record<string, unknown> {
  const config = structuredClone(raw);
  for (const [variable, path, convert] of endpointKeys) {
    const value = env[variable];
    if (value) setPath(config, path, convert(value));
  }
  for (const [variable, value] of Object.entries(env)) {
    if (!variable.startsWith(OVERRIDE_PREFIX) || value === undefined) continue;
    setPath(config, variable.slice(OVERRIDE_PREFIX.length).split('__'), parseYaml(value));
  }
  return config;
}

const SECRET_KEY = /password|secret|token/i;

const show = (value: unknown): string => {
  if (value === undefined) return 'nothing';
  // An object or list shown whole (an unknown key beside credentials) keeps its secrets hidden too.
  const text = JSON.stringify(value, (key, nested: unknown) => (SECRET_KEY.test(key) ? '[redacted]' : nested));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/** `consumers.rollups.definitions[0].measures[1].field`, or `(top level)`. */
const keyOf = (path: readonly PropertyKey[]): string =>
  path
    .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
    .join('')
    .replace(/^\./, '') || '(top level)';

/** One problem as a user reads it: the key, the value given (secrets redacted) and what is expected. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const key = keyOf(issue.path);
  // A cross-field check (reportAt) names the values it compares in its message.
  if (issue.code === 'custom' && issue.params?.[CROSS_FIELD]) return `${key}: ${issue.message}`;
  return `${key}: got ${SECRET_KEY.test(key) ? '[redacted]' : show(issue.input)}; ${issue.message.replace(/^Invalid input: /, '')}`;
}

/** Validates a raw configuration object against `schema`; throws ConfigError listing every problem. */
export function parseConfig<Schema extends z.ZodType>(schema: Schema, raw: unknown, source: string): z.output<Schema> {
  const result = schema.safeParse(raw, { reportInput: true });
  if (!result.success) throw new ConfigError(result.error.issues.map(describeIssue), source);
  return result.data;
}

/** The YAML file's content, or an empty object when there is no file. */
export function readConfigFile(path: string | undefined): Record<string, unknown> {
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`cannot read ${path}: ${(error as Error).message}`], path);
  }
  try {
    return (parseYaml(text) ?? {}) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError([`not valid YAML: ${(error as Error).message}`], path);
  }
}

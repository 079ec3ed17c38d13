import { readFileSync, writeFileSync } from 'node:fs';
import { configReference, withReference } from './reference.ts';
import { configSchema } from './schema.ts';

/** `npm run docs:config`: writes the configuration reference into the README, from the schema. */
const readme = new URL('../../README.md', import.meta.url);
writeFileSync(readme, withReference(readFileSync(readme, 'utf8'), configReference(configSchema)));

import { pino, type Logger } from 'pino';

/** Structured JSON logs on stderr; secrets are redacted wherever a config object is logged. */
export const logger: Logger = pino(
  {
    name: 'shardline',
    level: process.env.SHARDLINE_LOG_LEVEL ?? 'info',
    redact: {
      paths: ['*.password', '*.secretAccessKey', '*.sessionToken', '*.sasl', '*.*.password', '*.*.secretAccessKey'],
      censor: '[redacted]',
    },
  },
  pino.destination(2),
);

export type { Logger };

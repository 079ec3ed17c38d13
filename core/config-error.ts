/**
 * The configuration contradicts what a store already holds (a rollup definition changed under its
 * existing table, for example). Retrying cannot help: the message says what differs and what to do.
 */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

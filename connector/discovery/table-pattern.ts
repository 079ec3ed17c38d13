/** A table-name pattern (`orders-*`, `orders-202?`) as a regular expression matching whole names. */
export function tablePatternRegExp(pattern: string): RegExp {
  const source = [...pattern]
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.\-\\^$+()[\]{}|]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

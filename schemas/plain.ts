import type { DynamoImage, DynamoValue } from './change-event.ts';

function plainValue(value: DynamoValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return value.N;
  if (value.B !== undefined) return Buffer.from(value.B).toString('base64');
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.SS !== undefined) return [...value.SS].sort();
  if (value.NS !== undefined) return [...value.NS].sort();
  if (value.BS !== undefined) return value.BS.map((bytes) => Buffer.from(bytes).toString('base64')).sort();
  if (value.L !== undefined) return value.L.map(plainValue);
  if (value.M !== undefined) return plainImage(value.M);
  return null;
}

/** A DynamoDB image as plain JSON: numbers stay exact strings, sets become sorted arrays, binary base64. */
export function plainImage(image: DynamoImage | null): Record<string, unknown> | null {
  if (!image) return null;
  const plain: Record<string, unknown> = {};
  for (const name in image) plain[name] = plainValue(image[name]!);
  return plain;
}

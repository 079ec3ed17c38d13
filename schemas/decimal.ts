/**
 * Exact decimal arithmetic on DynamoDB number strings: a number becomes an integer count of 10^-scale
 * units (a BigInt), never a binary float.
 */
export class DecimalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecimalError';
  }
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * The digits of `text` in units of 10^-scale when it is a plain decimal (digits, a point with digits on
 * both sides or none, no sign, space or exponent) of at most `scale` places; else undefined. Most stored
 * numbers are: they are read without the general pattern.
 */
function plainUnits(text: string, scale: number): string | undefined {
  let point = -1;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 46 && point < 0 && index > 0 && index < text.length - 1) point = index;
    else if (code < 48 || code > 57) return undefined;
  }
  if (text.length === 0) return undefined;
  if (point < 0) return text + '0'.repeat(scale);
  const places = text.length - point - 1;
  if (places > scale) return undefined;
  return text.slice(0, point) + text.slice(point + 1) + '0'.repeat(scale - places);
}

/** `text` in units of 10^-scale; refuses values that would need rounding. */
export function toScaled(text: string, scale: number): bigint {
  const plain = plainUnits(text, scale);
  if (plain !== undefined) return BigInt(plain);
  const match = DECIMAL.exec(text.trim());
  if (!match || (match[2] === '' && (match[3] ?? '') === ''))
    throw new DecimalError(`${JSON.stringify(text)} is not a decimal number`);
  const [, sign, whole = '', fraction = '', exponentText] = match;
  const exponent = Number(exponentText ?? 0);
  let digits = `${whole}${fraction}`.replace(/^0+(?=\d)/, '') || '0';
  // value = digits * 10^(exponent - fraction.length); shift to units of 10^-scale.
  const shift = exponent - fraction.length + scale;
  if (shift >= 0) digits += '0'.repeat(shift);
  else {
    const dropped = digits.slice(shift);
    if (/[1-9]/.test(dropped)) throw new DecimalError(`${text} has more than ${scale} decimal places`);
    digits = digits.slice(0, shift) || '0';
  }
  const units = BigInt(digits);
  return sign === '-' ? -units : units;
}

/** Formats units of 10^-scale as a plain decimal string (`-12.50`). */
export function formatScaled(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const whole = scale === 0 ? digits : digits.slice(0, -scale);
  const fraction = scale === 0 ? '' : `.${digits.slice(-scale)}`;
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

/** Normalises a decimal to exactly `scale` places: "19.9" -> "19.90" at scale 2. */
export const normalizeDecimal = (text: string, scale: number): string => formatScaled(toScaled(text, scale), scale);

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

/** `text` in units of 10^-scale; refuses values that would need rounding. */
export function toScaled(text: string, scale: number): bigint {
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

/**
 * Parses a C99 hexadecimal floating literal ("-0x1.ffffffd0c621cp-2"), which JavaScript lacks.
 * Exact for every double whose significand fits in 53 bits (all that C's %a prints).
 */
export function parseHexFloat(literal: string): number {
  const m = /^([+-]?)0x([0-9a-f]+)(?:\.([0-9a-f]*))?p([+-]?\d+)$/i.exec(literal);
  if (!m) throw new SyntaxError(`not a hexadecimal float: ${literal}`);
  const fraction = m[3] ?? '';
  const significand = parseInt(m[2] + fraction, 16);
  if (!Number.isSafeInteger(significand)) throw new RangeError(`hexadecimal float too long: ${literal}`);
  const value = significand * 2 ** (Number(m[4]) - 4 * fraction.length);
  return m[1] === '-' ? -value : value;
}

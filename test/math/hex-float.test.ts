import { describe, expect, it } from 'vitest';
import { parseHexFloat } from '../../src/math/hex-float.js';

describe('parseHexFloat', () => {
  it('parses C hexadecimal literals exactly', () => {
    expect(parseHexFloat('0x1p+0')).toBe(1);
    expect(parseHexFloat('-0x1.8p1')).toBe(-3);
    expect(parseHexFloat('0x0p+0')).toBe(0);
    expect(parseHexFloat('0x1.921FB54442D18p1')).toBe(Math.PI);
    expect(parseHexFloat('0x1.62e42fefa39efp-1')).toBe(Math.LN2);
    expect(parseHexFloat('0x1.fffffffffffffp+1023')).toBe(Number.MAX_VALUE);
  });

  it('rejects what it cannot represent exactly or cannot read', () => {
    expect(() => parseHexFloat('1.5')).toThrow(SyntaxError);
    expect(() => parseHexFloat('0x1.8')).toThrow(SyntaxError);
    expect(() => parseHexFloat('0x1.fffffffffffffffp0')).toThrow(RangeError);
  });
});

import { describe, expect, it } from 'vitest';
import { detectSize, resizeImage } from '../../src/preprocessors/resize.js';
import { pilLuma, rgbToGray, toRgb } from '../../src/preprocessors/rgb.js';

describe('detectSize (controlnet_aux resize_image)', () => {
  it('scales the short side to the resolution and rounds both sides to multiples of 64', () => {
    expect(detectSize(300, 200, 512)).toEqual({ width: 768, height: 512 });
    expect(detectSize(1000, 750, 512)).toEqual({ width: 704, height: 512 });
    expect(detectSize(512, 1000, 512)).toEqual({ width: 512, height: 1024 });
    expect(detectSize(640, 480, 384)).toEqual({ width: 512, height: 384 });
  });

  it("rounds halves to even as numpy's round", () => {
    expect(detectSize(160, 64, 64)).toEqual({ width: 128, height: 64 }); // 2.5 -> 2
    expect(detectSize(224, 64, 64)).toEqual({ width: 256, height: 64 }); // 3.5 -> 4
  });
});

describe('RGB conversion (HWC3) and luma', () => {
  it('replicates gray and composites RGBA over white, truncating', () => {
    const gray = toRgb({ data: Uint8Array.of(7, 250), width: 2, height: 1, channels: 1 });
    expect([...gray.data]).toEqual([7, 7, 7, 250, 250, 250]);
    const rgba = toRgb({ data: Uint8Array.of(200, 0, 100, 128, 10, 20, 30, 255, 10, 20, 30, 0), width: 3, height: 1, channels: 4 });
    // 200·(128/255) + 255·(1 - 128/255) = 227.39 -> 227; 100 -> 177.2 -> 177; 0 -> 126.99999 in float32
    // (numpy gives the same 126), where exact arithmetic would give 127.
    expect([...rgba.data]).toEqual([227, 126, 177, 10, 20, 30, 255, 255, 255]);
    const rgb = { data: Uint8Array.of(1, 2, 3), width: 1, height: 1, channels: 3 as const };
    expect(toRgb(rgb)).toBe(rgb);
  });

  it("computes OpenCV's and PIL's luma", () => {
    const rgb = { data: Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128), width: 4, height: 1, channels: 3 as const };
    expect([...rgbToGray(rgb)]).toEqual([76, 150, 29, 128]);
    expect([...pilLuma(rgb)]).toEqual([76, 150, 29, 128]);
  });
});

describe('resizeImage', () => {
  it('keeps the channel count, one channel included, and returns the input when the size matches', async () => {
    const gray = { data: new Uint8Array(16).fill(90), width: 4, height: 4, channels: 1 as const };
    const big = await resizeImage(gray, 8, 6, 'linear');
    expect([big.width, big.height, big.channels, big.data.length]).toEqual([8, 6, 1, 48]);
    expect([...new Set(big.data)]).toEqual([90]);
    expect(await resizeImage(gray, 4, 4, 'linear')).toBe(gray);
  });
});

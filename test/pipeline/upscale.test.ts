import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { saveModel } from '../../src/onnx/model-file.js';
import { ModelSessions } from '../../src/pipeline/model-sessions.js';
import { SessionRunner } from '../../src/pipeline/session-runner.js';
import { tileSpans, upscaleImage } from '../../src/pipeline/stages/upscale.js';
import { resizeOpenCv } from '../../src/preprocessors/opencv-resize.js';
import { convUpscalerGraph, pixelUpscalerGraph } from '../../scripts/tiny-models/upscalers/real-esrgan.js';
import { testImage } from './helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cn-upscale-'));
const models = new ModelSessions({ providers: ['cpu'], deviceId: 0, threads: 1 });
afterAll(async () => {
  await models.release();
  rmSync(dir, { recursive: true, force: true });
});

function install(name: string, g: ReturnType<typeof pixelUpscalerGraph>) {
  const file = path.join(dir, name, 'model.onnx');
  saveModel(g, file);
  return models.upscaler(file);
}

const untiled = { tile: 4096, overlap: 0 };

describe('tile spans', () => {
  it('cover the axis with cores, each window inside it and with overlap context on inner sides', () => {
    for (const [length, size, overlap] of [
      [300, 100, 10],
      [97, 40, 8],
      [64, 64, 16],
      [65, 64, 16],
      [33, 32, 1],
    ] as const) {
      const spans = tileSpans(length, size, overlap);
      expect(spans[0]!.core0).toBe(0);
      expect(spans.at(-1)!.core1).toBe(length);
      spans.forEach((s, k) => {
        if (k > 0) expect(s.core0).toBe(spans[k - 1]!.core1);
        expect(s.start).toBeGreaterThanOrEqual(0);
        expect(s.start + s.size).toBeLessThanOrEqual(length);
        if (s.core0 > 0) expect(s.core0 - s.start).toBeGreaterThanOrEqual(overlap);
        if (s.core1 < length) expect(s.start + s.size - s.core1).toBeGreaterThanOrEqual(overlap);
        expect(s.core1).toBeGreaterThan(s.core0);
      });
    }
  });
});

describe('upscale stage', () => {
  it("a pixel-local 2× network: tiled equals untiled, and each pixel is the graph's function of its source pixel", async () => {
    const up = await install('pixel', pixelUpscalerGraph());
    const image = testImage(70, 45);
    const a = await upscaleImage(up, image, 2, new SessionRunner(), untiled);
    const b = await upscaleImage(up, image, 2, new SessionRunner(), { tile: 24, overlap: 4 });
    expect([a.image.width, a.image.height, a.modelScale]).toEqual([140, 90, 2]);
    expect(Buffer.from(b.image.data).equals(Buffer.from(a.image.data))).toBe(true);
    for (const [x, y, c] of [
      [0, 0, 0],
      [139, 89, 2],
      [77, 31, 1],
    ] as const) {
      const src = image.data[(Math.floor(y / 2) * 70 + Math.floor(x / 2)) * 3 + c]! / 255;
      const k = (y % 2) * 2 + (x % 2);
      expect(a.image.data[(y * 140 + x) * 3 + c]).toBe(Math.round(Math.min(1, 0.8 * src + 0.1 + 0.02 * k) * 255));
    }
  });

  it('a 3×3 network: tiled with overlap ≥ its radius equals untiled; without overlap the seams differ', async () => {
    const up = await install('conv', convUpscalerGraph());
    const image = testImage(61, 50);
    const a = await upscaleImage(up, image, 2, new SessionRunner(), untiled);
    const b = await upscaleImage(up, image, 2, new SessionRunner(), { tile: 20, overlap: 1 });
    const c = await upscaleImage(up, image, 2, new SessionRunner(), { tile: 20, overlap: 0 });
    expect(Buffer.from(b.image.data).equals(Buffer.from(a.image.data))).toBe(true);
    expect(Buffer.from(c.image.data).equals(Buffer.from(a.image.data))).toBe(false);
  });

  it("float16 I/O graphs give the float32 graph's result to float16 precision", async () => {
    const image = testImage(40, 24);
    const a = await upscaleImage(await install('conv32', convUpscalerGraph()), image, 2, new SessionRunner(), { tile: 16, overlap: 2 });
    const b = await upscaleImage(await install('conv16', convUpscalerGraph({ dtype: 'float16' })), image, 2, new SessionRunner(), { tile: 16, overlap: 2 });
    expect((await models.upscaler(path.join(dir, 'conv16', 'model.onnx'))).signature.floatType).toBe('float16');
    let worst = 0;
    for (let i = 0; i < a.image.data.length; i++) worst = Math.max(worst, Math.abs(a.image.data[i]! - b.image.data[i]!));
    expect(worst).toBeLessThanOrEqual(2);
  });

  it('a 4× network asked for 2× resizes its result down (Lanczos), and cannot give more than its scale', async () => {
    const up = await install('pixel4', pixelUpscalerGraph({ scale: 4 }));
    const image = testImage(20, 12);
    const four = await upscaleImage(up, image, 4, new SessionRunner());
    const two = await upscaleImage(up, image, 2, new SessionRunner());
    expect([two.image.width, two.image.height, two.modelScale]).toEqual([40, 24, 4]);
    expect(Buffer.from(two.image.data).equals(Buffer.from(resizeOpenCv(four.image, 40, 24, 'lanczos4').data))).toBe(true);
    const up2 = await install('pixel2', pixelUpscalerGraph({ scale: 2 }));
    await expect(upscaleImage(up2, image, 4, new SessionRunner())).rejects.toThrow(/enlarges 2×, so it cannot give 4×/);
  });

  it('a fixed-size graph runs in tiles of its size, also on an image smaller than one tile', async () => {
    const up = await install('fixed', pixelUpscalerGraph({ fixedSize: [16, 16] }));
    const ref = await install('dynamic', pixelUpscalerGraph());
    for (const image of [testImage(40, 30), testImage(10, 12)]) {
      const a = await upscaleImage(up, image, 2, new SessionRunner());
      const b = await upscaleImage(ref, image, 2, new SessionRunner(), untiled);
      expect([a.image.width, a.image.height]).toEqual([image.width * 2, image.height * 2]);
      expect(Buffer.from(a.image.data).equals(Buffer.from(b.image.data))).toBe(true);
    }
  });
});

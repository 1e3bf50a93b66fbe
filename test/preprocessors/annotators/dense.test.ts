import { describe, expect, it } from 'vitest';
import { depthGraph, hedGraph, lineartGraph, normalBaeGraph, pidinetGraph, segmentationGraph } from '../../../scripts/tiny-models/annotators/dense.js';
import { ADE20K_PALETTE } from '../../../src/preprocessors/annotators/ade-palette.js';
import { AnnotatorMissingError, makeHint } from '../../../src/preprocessors/registry.js';
import { channel0 } from '../helpers.js';
import { graphAnnotators, paintColour, pixel } from './helpers.js';

// 128×64 at detect resolution 64 and output 128×64: no resizing around the network.
const W = 128;
const H = 64;
const SAME = { width: W, height: H, detectResolution: 64 };

const ramp = paintColour(W, H, (x) => {
  const v = Math.round((x * 255) / (W - 1));
  return [v, v, v];
});

const uniform = (r: number, g: number, b: number) => paintColour(W, H, () => [r, g, b]);

describe('depth hint', () => {
  it('min-max normalises the depth of a ramp to the 0..255 ramp', async () => {
    const annotators = graphAnnotators({ midas: depthGraph() });
    const hint = await makeHint('depth', ramp, { ...SAME, annotators });
    const got = channel0(hint.image);
    for (let x = 0; x < W; x++) {
      const expected = (ramp.data[x * 3] / 255) * 255;
      expect(Math.abs(got[x] - expected), `x=${x}`).toBeLessThanOrEqual(1);
      expect(got[(H - 1) * W + x]).toBe(got[x]);
    }
    expect(got[0]).toBe(0);
    expect(got[W - 1]).toBe(255);
    expect(annotators.asked).toEqual(['midas']);
  });

  it('falls back to Depth Anything, resizing to and from a fixed input size', async () => {
    const annotators = graphAnnotators({ depth_anything: depthGraph({ fixedSize: [70, 98] }) });
    const got = channel0((await makeHint('depth', ramp, { ...SAME, annotators })).image);
    expect(annotators.asked).toEqual(['midas', 'depth_anything']);
    for (let x = 1; x < W; x++) expect(got[x]).toBeGreaterThanOrEqual(got[x - 1]);
    expect(got[0]).toBeLessThan(5);
    expect(got[W - 1]).toBeGreaterThan(250);
    expect(Math.abs(got[W / 2] - 128)).toBeLessThan(6);
  });

  it('is missing when neither network is installed, naming MiDaS, its file and folder', async () => {
    const error = await makeHint('depth', ramp, { ...SAME, annotators: graphAnnotators({}), annotatorsDir: '/srv/ann' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AnnotatorMissingError);
    const missing = error as AnnotatorMissingError;
    expect(missing.folder).toBe('/srv/ann/midas/');
    expect(missing.message).toContain('/srv/ann/midas/model.onnx');
    expect(missing.message).toContain('docs/annotators.md');
  });
});

describe('normal hint', () => {
  it("maps NormalBAE's x, y, z in [-1, 1] to ((n + 1) / 2) · 255 after ImageNet normalisation", async () => {
    const annotators = graphAnnotators({ normalbae: normalBaeGraph(), midas: depthGraph() });
    const hint = await makeHint('normal', uniform(100, 120, 140), { ...SAME, annotators });
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    const expected = [100, 120, 140].map((v, c) => Math.trunc((((v / 255 - mean[c]) / std[c] + 1) / 2) * 255));
    for (const [x, y] of [
      [0, 0],
      [64, 32],
      [127, 63],
    ]) {
      pixel(hint.image, x, y).forEach((v, c) => expect(Math.abs(v - expected[c])).toBeLessThanOrEqual(1));
    }
    expect(annotators.asked).toEqual(['normalbae']);
  });

  it('derives the normal from MiDaS depth when NormalBAE is absent: (z, y, x) with background flattened', async () => {
    const annotators = graphAnnotators({ midas: depthGraph() });
    const hint = await makeHint('normal', ramp, { ...SAME, annotators });
    // Depth rises by about 2/255 per pixel (channel mean of x / 127.5 - 1): Sobel x = 8 · slope, y = 0.
    const slope = 2 / 127;
    const gx = 8 * slope;
    const norm = Math.hypot(gx, 2 * Math.PI);
    const inside = [Math.trunc(((2 * Math.PI) / norm) * 127.5 + 127.5), 127, Math.trunc((gx / norm) * 127.5 + 127.5)];
    for (const c of [0, 1, 2]) expect(Math.abs(pixel(hint.image, 80, 30)[c] - inside[c])).toBeLessThanOrEqual(1);
    // The nearest-to-camera 10 % is background by MiDaS' rule: x and y are 0 there.
    expect(pixel(hint.image, 5, 30)).toEqual([255, 127, 127]);
  });

  it('is missing, naming NormalBAE, when neither NormalBAE nor a depth network is installed', async () => {
    const error = await makeHint('normal', ramp, { ...SAME, annotators: graphAnnotators({}) }).catch((e: unknown) => e);
    expect((error as AnnotatorMissingError).folder).toBe('models/annotators/normalbae/');
  });
});

describe('hed and softedge hints', () => {
  it("averages HED's five projections and applies the sigmoid", async () => {
    const annotators = graphAnnotators({ hed: hedGraph() });
    const hint = channel0((await makeHint('hed', uniform(100, 100, 100), { ...SAME, annotators })).image);
    const expected = Math.trunc(255 / (1 + Math.exp(-(100 - 128) / 32)));
    expect(new Set(hint)).toEqual(new Set([expected]));
  });

  it('resizes the coarse projections bilinearly onto the detect grid', async () => {
    const annotators = graphAnnotators({ hed: hedGraph() });
    const half = paintColour(W, H, (x) => (x < W / 2 ? [0, 0, 0] : [255, 255, 255]));
    const hint = channel0((await makeHint('hed', half, { ...SAME, annotators })).image);
    const row = Array.from(hint.subarray(32 * W, 33 * W));
    // Reference: each level's block means, interpolated at (x + 0.5) / s - 0.5 with clamped ends.
    const pixelValue = (x: number) => ((x < W / 2 ? 0 : 255) - 128) / 32;
    const expected = row.map((_, x) => {
      let sum = 0;
      for (let s = 1; s <= 16; s *= 2) {
        const cells = W / s;
        const cell = (j: number) => {
          let t = 0;
          for (let k = 0; k < s; k++) t += pixelValue(j * s + k);
          return t / s;
        };
        const f = Math.min(Math.max((x + 0.5) / s - 0.5, 0), cells - 1);
        const j = Math.floor(f);
        sum += cell(j) * (1 - (f - j)) + cell(Math.min(j + 1, cells - 1)) * (f - j);
      }
      return Math.trunc(255 / (1 + Math.exp(-sum / 5)));
    });
    for (let x = 0; x < W; x++) expect(Math.abs(row[x] - expected[x]), `x=${x}`).toBeLessThanOrEqual(1);
    expect(row[W / 2 - 1]).toBeGreaterThan(row[0] + 3);
  });

  it('softedge feeds PiDiNet BGR in [0, 1] and takes its last (fused) output', async () => {
    const annotators = graphAnnotators({ pidinet: pidinetGraph(), hed: hedGraph() });
    const hint = channel0((await makeHint('softedge', uniform(200, 50, 30), { ...SAME, annotators })).image);
    for (const v of hint) expect(Math.abs(v - 30)).toBeLessThanOrEqual(1);
    expect(annotators.asked).toEqual(['pidinet']);
  });

  it('softedge falls back to HED; hed does not fall back to PiDiNet', async () => {
    const image = uniform(100, 100, 100);
    const viaHed = await makeHint('softedge', image, { ...SAME, annotators: graphAnnotators({ hed: hedGraph() }) });
    const hed = await makeHint('hed', image, { ...SAME, annotators: graphAnnotators({ hed: hedGraph() }) });
    expect(viaHed.image.data).toEqual(hed.image.data);
    const error = await makeHint('hed', image, { ...SAME, annotators: graphAnnotators({ pidinet: pidinetGraph() }) }).catch((e: unknown) => e);
    expect((error as AnnotatorMissingError).annotator).toBe('hed');
  });
});

describe('lineart hint', () => {
  it('feeds RGB in [0, 1] and inverts the line map (1 - x)', async () => {
    const annotators = graphAnnotators({ lineart: lineartGraph() });
    const hint = await makeHint('lineart', uniform(51, 200, 200), { ...SAME, annotators });
    for (const v of hint.image.data) expect(Math.abs(v - 204)).toBeLessThanOrEqual(1);
  });
});

describe('segmentation hint', () => {
  it('colours each pixel with the ADE20K palette colour of its winning class', async () => {
    const background = 7;
    const foreground = 20;
    const annotators = graphAnnotators({ upernet: segmentationGraph({ background, foreground }) });
    const halves = paintColour(W, H, (x) => (x < W / 2 ? [0, 90, 90] : [255, 90, 90]));
    const hint = await makeHint('segmentation', halves, { ...SAME, annotators });
    const colour = (k: number) => Array.from(ADE20K_PALETTE.subarray(k * 3, k * 3 + 3));
    for (const y of [0, 31, 63]) {
      expect(pixel(hint.image, 2, y)).toEqual(colour(background));
      expect(pixel(hint.image, W / 2 - 6, y)).toEqual(colour(background));
      expect(pixel(hint.image, W / 2 + 6, y)).toEqual(colour(foreground));
      expect(pixel(hint.image, W - 1, y)).toEqual(colour(foreground));
    }
  });

  it('has the standard palette: 150 classes, wall grey first', () => {
    expect(ADE20K_PALETTE.length).toBe(450);
    expect(Array.from(ADE20K_PALETTE.subarray(0, 6))).toEqual([120, 120, 120, 180, 120, 120]);
    expect(Array.from(ADE20K_PALETTE.subarray(447))).toEqual([92, 0, 255]);
  });
});

/**
 * Pillow's `Image.resize(size, Image.LANCZOS)` of 8-bit images, bit for bit (libImaging/Resample.c): a
 * separable Lanczos-3 whose support widens by the shrink factor, 22-bit fixed-point weights, the horizontal
 * pass first (rounded and clipped to 8 bits), then the vertical pass. diffusers' ControlNet pipelines resize
 * the control image (a PIL image from controlnet_aux) to the requested width × height this way
 * (`VaeImageProcessor`, `resample="lanczos"`). `resizePilBicubic` is `Image.BICUBIC` (Pillow's a = −0.5 cubic,
 * support 2), what CLIP's image processor resizes with (the safety checker's input).
 */
import type { RawImage } from '../image/types.js';

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

const lanczos = (x: number) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0);

/** Pillow's bicubic_filter (a = −0.5). */
function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

interface Filter {
  support: number;
  at: (x: number) => number;
}

const LANCZOS: Filter = { support: 3, at: lanczos };
const BICUBIC: Filter = { support: 2, at: bicubic };

interface Coefficients {
  ksize: number;
  /** Per output: first source index and tap count. */
  bounds: Int32Array;
  /** ksize fixed-point weights per output. */
  weights: Int32Array;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the whole input range. */
function coefficients(inSize: number, outSize: number, filter: Filter): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const ss = 1 / filterScale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      k[x] = filter.at((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? k[x] / ww : k[x];
      weights[o * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    bounds[o * 2] = xmin;
    bounds[o * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

/** clip8: the fixed-point sum (with its rounding half already added) shifted down and saturated. */
const clip8 = (v: number) => {
  const s = Math.floor(v / ONE);
  return s < 0 ? 0 : s > 255 ? 255 : s;
};

/** `image.resize((width, height), Image.LANCZOS)` for interleaved 8-bit channels. */
export function resizePilLanczos(src: RawImage, width: number, height: number): RawImage {
  return resizePil(src, width, height, LANCZOS);
}

/** `image.resize((width, height), Image.BICUBIC)` for interleaved 8-bit channels. */
export function resizePilBicubic(src: RawImage, width: number, height: number): RawImage {
  return resizePil(src, width, height, BICUBIC);
}

function resizePil(src: RawImage, width: number, height: number, filter: Filter): RawImage {
  if (src.width === width && src.height === height) return src;
  const cn = src.channels;
  const horiz = coefficients(src.width, width, filter);
  const vert = coefficients(src.height, height, filter);
  const needH = width !== src.width;
  const needV = height !== src.height;
  // Only the source rows the vertical pass reads go through the horizontal pass.
  const first = needV ? vert.bounds[0] : 0;
  const last = needV ? vert.bounds[(height - 1) * 2] + vert.bounds[(height - 1) * 2 + 1] : src.height;
  let mid: Uint8Array = src.data;
  let midWidth = src.width;
  let rowOffset = 0;
  if (needH) {
    const rows = last - first;
    mid = new Uint8Array(rows * width * cn);
    for (let y = 0; y < rows; y++) {
      const inRow = (y + first) * src.width * cn;
      const outRow = y * width * cn;
      for (let x = 0; x < width; x++) {
        const xmin = horiz.bounds[x * 2];
        const n = horiz.bounds[x * 2 + 1];
        const kw = x * horiz.ksize;
        for (let c = 0; c < cn; c++) {
          let s = HALF;
          for (let i = 0; i < n; i++) s += src.data[inRow + (xmin + i) * cn + c] * horiz.weights[kw + i];
          mid[outRow + x * cn + c] = clip8(s);
        }
      }
    }
    midWidth = width;
    rowOffset = first;
  }
  if (!needV) return { data: mid, width, height, channels: cn };
  const out = new Uint8Array(width * height * cn);
  const rowLen = midWidth * cn;
  for (let y = 0; y < height; y++) {
    const ymin = vert.bounds[y * 2] - rowOffset;
    const n = vert.bounds[y * 2 + 1];
    const kw = y * vert.ksize;
    const o = y * rowLen;
    for (let x = 0; x < rowLen; x++) {
      let s = HALF;
      for (let i = 0; i < n; i++) s += mid[(ymin + i) * rowLen + x] * vert.weights[kw + i];
      out[o + x] = clip8(s);
    }
  }
  return { data: out, width, height, channels: cn };
}

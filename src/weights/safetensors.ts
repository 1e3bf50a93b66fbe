/**
 * A safetensors reader: an 8-byte little-endian header length, a JSON header
 * (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {…}}`), then the raw little-endian
 * tensor bytes. float32, float16 and bfloat16 tensors are read as Float32Array; nothing is executed or unpickled.
 */
import { readFileSync } from 'node:fs';
import { float16ToFloat32 } from '../tensor/float16.js';

export type SafetensorsDType = 'F32' | 'F16' | 'BF16';

export interface SafetensorsTensor {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** The values, converted to float32. */
  values: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  /** `__metadata__` (string to string), empty when absent. */
  metadata: Record<string, string>;
}

/** A file that is not a valid safetensors file, or holds a tensor type this reader does not take. */
export class SafetensorsError extends Error {}

const BYTES: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2 };
/** The format's own limit on the header (100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

export function readSafetensorsFile(path: string): SafetensorsFile {
  return parseSafetensors(readFileSync(path));
}

export function parseSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.byteLength < 8) throw new SafetensorsError('not a safetensors file (shorter than its 8-byte header length)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.byteLength)
    throw new SafetensorsError(`not a safetensors file (header length ${headerLength} does not fit the file)`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    throw new SafetensorsError('not a safetensors file (its header is not JSON)');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new SafetensorsError('not a safetensors file (its header is not a JSON object)');
  const data = bytes.subarray(8 + headerLength);
  const tensors = new Map<string, SafetensorsTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = Object.fromEntries(Object.entries((entry ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
      continue;
    }
    tensors.set(name, readTensor(name, entry, data));
  }
  return { tensors, metadata };
}

function readTensor(name: string, entry: unknown, data: Uint8Array): SafetensorsTensor {
  const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  const dtype = e?.dtype;
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16')
    throw new SafetensorsError(`tensor ${name}: dtype ${String(dtype)} is not supported (F32, F16, BF16)`);
  const shape = e.shape;
  const offsets = e.data_offsets;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new SafetensorsError(`tensor ${name}: bad shape`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw new SafetensorsError(`tensor ${name}: bad data_offsets`);
  const [begin, end] = offsets as [number, number];
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  if (end < begin || end > data.byteLength || end - begin !== count * BYTES[dtype])
    throw new SafetensorsError(`tensor ${name}: data_offsets [${begin}, ${end}] do not match ${dtype}[${shape.join(',')}] within the file`);
  return { name, dtype, shape: [...(shape as number[])], values: decode(dtype, data.subarray(begin, end), count) };
}

function decode(dtype: SafetensorsDType, raw: Uint8Array, count: number): Float32Array {
  // Copy first: tensor offsets need not be aligned to the element size.
  const copy = new Uint8Array(raw);
  if (dtype === 'F32') return new Float32Array(copy.buffer, 0, count);
  const halves = new Uint16Array(copy.buffer, 0, count);
  if (dtype === 'F16') return float16ToFloat32(halves);
  const out = new Float32Array(count);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < count; i++) bits[i] = halves[i]! << 16;
  return out;
}

/** Writes tensors as safetensors bytes (float32, or float16/bfloat16 bits given as Uint16Array); tests and tools. */
export function encodeSafetensors(
  tensors: Record<string, { dtype: SafetensorsDType; shape: number[]; data: Float32Array | Uint16Array }>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.byteLength), true);
  out.set(head, 8);
  let at = 8 + head.byteLength;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

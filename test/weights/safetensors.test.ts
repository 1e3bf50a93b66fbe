import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeSafetensors, parseSafetensors, readSafetensorsFile, SafetensorsError } from '../../src/weights/safetensors.js';

/** The bytes of a file as the format describes them, built by hand (not with encodeSafetensors). */
function handBuilt(header: object, data: number[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors reader', () => {
  it('reads F32, F16 and BF16 tensors at unaligned offsets, and the metadata', () => {
    const f32 = [...new Uint8Array(new Float32Array([1.5, -2]).buffer)];
    // float16 1.0 = 0x3c00, -0.5 = 0xb800; bfloat16 3.0 = 0x4040, 0.15625 = 0x3e20
    const f16 = [0x00, 0x3c, 0x00, 0xb8];
    const bf16 = [0x40, 0x40, 0x20, 0x3e];
    const bytes = handBuilt(
      {
        __metadata__: { ss_network_alpha: '4' },
        b: { dtype: 'BF16', shape: [2], data_offsets: [1, 5] },
        h: { dtype: 'F16', shape: [2, 1], data_offsets: [5, 9] },
        f: { dtype: 'F32', shape: [1, 2], data_offsets: [9, 17] },
      },
      [0xff, ...bf16, ...f16, ...f32],
    );
    const file = parseSafetensors(bytes);
    expect(file.metadata).toEqual({ ss_network_alpha: '4' });
    expect([...file.tensors.get('b')!.values]).toEqual([3, 0.15625]);
    expect([...file.tensors.get('h')!.values]).toEqual([1, -0.5]);
    expect(file.tensors.get('h')!.shape).toEqual([2, 1]);
    expect([...file.tensors.get('f')!.values]).toEqual([1.5, -2]);
  });

  it('round-trips what encodeSafetensors writes, from a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const w = Float32Array.from({ length: 12 }, (_, i) => i / 7 - 0.5);
    writeFileSync(join(dir, 'x.safetensors'), encodeSafetensors({ 'lora_unet_x.lora_down.weight': { dtype: 'F32', shape: [3, 4], data: w } }));
    const file = readSafetensorsFile(join(dir, 'x.safetensors'));
    expect(file.tensors.get('lora_unet_x.lora_down.weight')!.values).toEqual(w);
  });

  it('refuses what is not a safetensors file, or a dtype it cannot read', () => {
    expect(() => parseSafetensors(new Uint8Array(4))).toThrow(SafetensorsError);
    expect(() => parseSafetensors(new TextEncoder().encode('PK\x03\x04 a zip or pickle file'))).toThrow(/header length/);
    expect(() => parseSafetensors(handBuilt({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, [0, 0, 0, 0, 0, 0, 0, 0]))).toThrow(
      /I64 is not supported/,
    );
    expect(() => parseSafetensors(handBuilt({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, [0, 0, 0, 0, 0, 0, 0, 0]))).toThrow(/do not match/);
    expect(() => parseSafetensors(handBuilt({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, [0, 0, 0, 0]))).toThrow(/do not match/);
  });
});

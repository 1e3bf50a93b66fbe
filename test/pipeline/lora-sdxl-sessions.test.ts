/**
 * SDXL's merged text encoders as sessions: `textEncoder(path, loras, 'text_encoder_2')` merges the second-encoder
 * updates only (kohya `lora_te2_`, PEFT `text_encoder_2.`), is cached per LoRA set beside the plain graph, and counts
 * in MODEL_MEMORY_BUDGET: a budget of two text-encoder sessions closes the least recently used idle one for a new set.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LoraRef } from '../../src/domain/model-files.js';
import { ModelSessions } from '../../src/pipeline/model-sessions.js';
import { sessionBytes } from '../../src/runtime/session-bytes.js';

const MODEL = path.join(import.meta.dirname, '..', 'fixtures', 'parity', 'sdxl-tiny', 'models', 'sdxl-tiny');
const LORA = path.join(import.meta.dirname, '..', 'fixtures', 'lora-sdxl', 'lora');
const te1 = path.join(MODEL, 'text_encoder', 'model.onnx');
const te2 = path.join(MODEL, 'text_encoder_2', 'model.onnx');
const kohya: LoraRef[] = [{ name: 'sdxl_kohya', path: path.join(LORA, 'sdxl_kohya.safetensors'), strength: 1 }];
const peft: LoraRef[] = [{ name: 'sdxl_te2_peft', path: path.join(LORA, 'sdxl_te2_peft.safetensors'), strength: 0.7 }];
const open: ModelSessions[] = [];
afterAll(async () => {
  for (const s of open) await s.release();
});

describe('merged SDXL text encoders', () => {
  it('merge each encoder its own keys', async () => {
    const s = new ModelSessions({ providers: ['cpu'], deviceId: 0, threads: 1 });
    open.push(s);
    const [first, second] = await Promise.all([s.textEncoder(te1, kohya), s.textEncoder(te2, kohya, 'text_encoder_2')]);
    // sdxl_kohya: 8 UNet, 3 first-encoder and 5 second-encoder layers.
    expect(first.loraReports).toEqual([expect.objectContaining({ name: 'sdxl_kohya', matched: 3, unmatched: [], modules: 16 })]);
    expect(second.loraReports).toEqual([expect.objectContaining({ name: 'sdxl_kohya', matched: 5, unmatched: [], modules: 16 })]);
    expect((await s.textEncoder(te2, peft, 'text_encoder_2')).loraReports).toEqual([expect.objectContaining({ matched: 6, modules: 6 })]);
    expect((await s.textEncoder(te1, peft)).loraReports).toEqual([expect.objectContaining({ matched: 0, modules: 6 })]);
  });

  it('cache the second encoder per LoRA set, within MODEL_MEMORY_BUDGET', async () => {
    const bytes = await sessionBytes(te2);
    // A merged variant counts twice its graph's weights (onnxruntime's own copy of weights given from memory).
    const s = new ModelSessions({ providers: ['cpu'], deviceId: 0, threads: 1, memoryBudgetBytes: 4 * bytes });
    open.push(s);
    const plain = await s.textEncoder(te2);
    const merged = await s.textEncoder(te2, kohya, 'text_encoder_2');
    expect(merged.session).not.toBe(plain.session);
    expect(await s.textEncoder(te2, kohya, 'text_encoder_2')).toBe(merged);
    expect(s.registry.usedBytes).toBe(3 * bytes);
    // A second variant does not fit beside both: the least recently used idle session (the plain graph) is closed for it.
    await s.textEncoder(te2, peft, 'text_encoder_2');
    expect(s.registry.usedBytes).toBe(4 * bytes);
    const keys = s.registry.report().map((r) => r.key);
    expect(keys).toHaveLength(2);
    expect(keys).not.toContain(te2);
    expect(keys.every((k) => k.startsWith(`${te2}\n`))).toBe(true);
  });
});

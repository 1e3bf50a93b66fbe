import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanSafetyCheckers } from '../../src/runtime/safety-checkers.js';
import { pickUpscaler, scanUpscalers } from '../../src/runtime/upscalers.js';
import { planSafetyChecker } from '../../src/server/plan.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cn-extras-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const touch = (...parts: string[]) => {
  mkdirSync(path.join(dir, ...parts.slice(0, -1)), { recursive: true });
  writeFileSync(path.join(dir, ...parts), parts.at(-1)!.endsWith('.json') ? '{"scale": 4}' : 'x');
};

describe('upscaler and safety checker folders', () => {
  it('upscalers: model.onnx per folder, the scale from config.json; the pick prefers the exact scale, then a larger one', async () => {
    touch('upscalers', 'b-x4', 'model.onnx');
    touch('upscalers', 'b-x4', 'config.json');
    touch('upscalers', 'a-unknown', 'model.onnx');
    touch('upscalers', 'empty', 'notes.txt');
    const found = await scanUpscalers(dir);
    expect([...found.keys()]).toEqual(['a-unknown', 'b-x4']);
    expect(found.get('b-x4')!.scale).toBe(4);
    expect(found.get('a-unknown')!.scale).toBeNull();
    expect(pickUpscaler(found, 4)!.name).toBe('b-x4');
    expect(pickUpscaler(found, 2)!.name).toBe('b-x4');
    expect(pickUpscaler(new Map([['a', { name: 'a', model: 'm', scale: 2 }]]), 4)).toBeNull();
  });

  it("safety checkers: a model's own folder wins over the shared one; both need model.onnx and concepts.json", async () => {
    touch('safety_checker', 'model.onnx');
    touch('safety_checker', 'concepts.json');
    touch('sd15', 'safety_checker', 'model.onnx');
    touch('sd15', 'safety_checker', 'concepts.json');
    touch('half', 'safety_checker', 'model.onnx');
    const checkers = await scanSafetyCheckers(dir, ['sd15', 'half', 'other']);
    expect([...checkers.own.keys()]).toEqual(['sd15']);
    const catalog = { models: new Map(), vaes: new Map(), controlnets: new Map(), aliases: new Map(), rejected: [], safetyCheckers: checkers };
    expect(planSafetyChecker('sd15', catalog).modelPath).toBe(path.join(dir, 'sd15', 'safety_checker', 'model.onnx'));
    expect(planSafetyChecker('half', catalog).modelPath).toBe(path.join(dir, 'safety_checker', 'model.onnx'));
    expect(() => planSafetyChecker('x', { ...catalog, safetyCheckers: { shared: null, own: new Map() } })).toThrow(/x\/safety_checker\//);
  });
});

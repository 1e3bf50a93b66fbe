/**
 * Building blocks of the HTTP parity tests (LoRA, embeddings, SDXL): a fixture folder's `cases.json` requests made
 * into bodies (their control images inlined), a request that must succeed, and decoded pixels with their largest
 * difference.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { expect } from 'vitest';
import { API_KEY } from './server.js';

export interface FixtureCase {
  name: string;
  request: Record<string, unknown>;
  expected: string[];
}

/** The `cases` of `<fixture>/cases.json`. */
export function fixtureCases<C extends FixtureCase>(fixture: string): C[] {
  return (JSON.parse(readFileSync(path.join(fixture, 'cases.json'), 'utf8')) as { cases: C[] }).cases;
}

/** A case's request as a body for this server: the test key, base64 output, its control image inlined, `extra` on top. */
export function fixtureBody(fixture: string, c: FixtureCase, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const r: Record<string, unknown> = { ...c.request, key: API_KEY, base64: 'yes', ...extra };
  if (typeof r.control_image === 'string') r.control_image = readFileSync(path.join(fixture, r.control_image)).toString('base64');
  return r;
}

export interface GenerationAnswer {
  output: string[];
  meta: Record<string, unknown>;
  warnings?: string[];
}

/** POSTs to the ControlNet endpoint and expects a 200 `success` answer. */
export async function generateOk(app: FastifyInstance, payload: Record<string, unknown>): Promise<GenerationAnswer> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/enterprise/controlnet', payload });
  expect(res.statusCode, res.body).toBe(200);
  const json = res.json();
  expect(json.status, res.body).toBe('success');
  return json as GenerationAnswer;
}

/** A PNG's RGB bytes. */
export async function rgbPixels(png: Buffer): Promise<Buffer> {
  return (await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true })).data;
}

/** The largest difference between two images' bytes (which must be the same size). */
export function maxPixelDiff(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

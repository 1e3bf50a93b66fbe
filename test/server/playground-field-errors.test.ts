import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { controlNetRequestSchema, describeIssues } from '../../src/server/contract.js';
import { PLAYGROUND_DIR } from '../../src/server/routes/playground.js';

// The page's own module, as the browser gets it (splitMessage needs no DOM).
const { splitMessage } = (await import(pathToFileURL(path.join(PLAYGROUND_DIR, 'field-errors.js')).href)) as {
  splitMessage: (message: string) => { field: string; text: string }[];
};

describe("the playground reading the server's error messages", () => {
  it('finds every field the contract names in one 400, each with its own text', () => {
    const parsed = controlNetRequestSchema.safeParse({ width: '100', seed: 'x', guidance_scale: 99, controlnet_conditioning_scale: '1;2', auto_hint: 'maybe' });
    expect(parsed.success).toBe(false);
    const message = describeIssues(parsed.error!);
    const parts = splitMessage(message);
    expect(parts.map((p) => p.field).sort()).toEqual(['auto_hint', 'controlnet_conditioning_scale', 'guidance_scale', 'seed', 'width']);
    expect(parts.map((p) => p.text).join('; ')).toBe(message);
    for (const part of parts) expect(part.text.startsWith(`${part.field}: `)).toBe(true);
  });

  it('keeps messages with colons and semicolons inside one field, and names no field for free text', () => {
    expect(splitMessage('image: fetching http://127.0.0.1:1/x.png failed: connection refused; retry later')).toEqual([
      { field: 'image', text: 'image: fetching http://127.0.0.1:1/x.png failed: connection refused; retry later' },
    ]);
    expect(splitMessage('control_images.1: must be a string')).toEqual([{ field: 'control_images', text: 'control_images.1: must be a string' }]);
    expect(splitMessage('controlnet_type "inpaint" needs a mask (mask_image)')).toEqual([
      { field: '', text: 'controlnet_type "inpaint" needs a mask (mask_image)' },
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { scrubPaths } from '../../src/util/scrub-paths.js';

describe('scrubPaths', () => {
  it('makes paths under the roots relative, hides other system paths, leaves URLs and words alone', () => {
    const roots = ['/srv/cn/models', '/app'];
    expect(scrubPaths('put its ONNX export at /srv/cn/models/annotators/midas/model.onnx', roots)).toBe('put its ONNX export at annotators/midas/model.onnx');
    expect(scrubPaths('could not open /app/dist/x.onnx on cpu', roots)).toBe('could not open dist/x.onnx on cpu');
    expect(scrubPaths('url: /app is not a model folder; /apple stays', roots)).toBe('url: . is not a model folder; /apple stays');
    expect(scrubPaths('failed: ENOENT "/home/me/x.onnx" (/tmp/abc)', roots)).toBe('failed: ENOENT "[path]" ([path])');
    expect(scrubPaths('see http://h.example/home/x and docs/annotators.md', roots)).toBe('see http://h.example/home/x and docs/annotators.md');
  });
});

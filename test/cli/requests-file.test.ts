import { describe, expect, it } from 'vitest';
import { parseRequests } from '../../src/cli/requests-file.js';

describe('command-line input: one JSON body or JSONL', () => {
  it('reads one body, pretty-printed or not (a byte-order mark is ignored)', () => {
    const body = { controlnet_model: 'canny', prompt: 'a\nb' };
    expect(parseRequests(JSON.stringify(body, null, 2))).toEqual([{ line: 1, body }]);
    expect(parseRequests(`\uFEFF${JSON.stringify(body)}\n`)).toEqual([{ line: 1, body }]);
  });

  it('reads JSONL with the file line numbers; blank lines are skipped, bad lines become errors', () => {
    const text = '{"a":1}\n\n  \nnot json\n[1,2]\r\n{"b":2}\n';
    const entries = parseRequests(text);
    expect(entries.map((e) => e.line)).toEqual([1, 4, 5, 6]);
    expect(entries[0]).toEqual({ line: 1, body: { a: 1 } });
    expect(entries[1]).toMatchObject({ line: 4, error: expect.stringMatching(/^not valid JSON \(/) });
    expect(entries[2]).toEqual({ line: 5, error: 'must be a JSON object (one request body per line)' });
    expect(entries[3]).toEqual({ line: 6, body: { b: 2 } });
  });

  it('nothing in, nothing out', () => {
    expect(parseRequests('')).toEqual([]);
    expect(parseRequests(' \n\n')).toEqual([]);
  });
});

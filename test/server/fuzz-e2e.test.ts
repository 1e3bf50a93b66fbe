import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPng } from '../helpers/images.js';
import { API_KEY } from '../helpers/server.js';
import { startServerProcess } from '../helpers/server-process.js';

/** Fixed so a failure reproduces (FUZZ_SEED overrides); fast-check prints the seed and path of a failure. */
const SEED = Number(process.env.FUZZ_SEED ?? 20261206);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1200);

let server: Awaited<ReturnType<typeof startServerProcess>>;
let tinyPng: string;

beforeAll(async () => {
  tinyPng = `data:image/png;base64,${(await testPng(64, 64)).toString('base64')}`;
  // Valid bodies answer "processing" at once (SYNC_TIMEOUT_S=0) and queue at most 4 jobs (then 429); the admin key
  // lets clear_queue empty the queue before the last request.
  server = await startServerProcess({ API_KEYS: API_KEY, ADMIN_API_KEYS: API_KEY, SYNC_TIMEOUT_S: '0', MAX_QUEUE: '4', WEBHOOK_ATTEMPTS: '1' });
}, 90_000);
afterAll(() => server?.kill());

const oddScalars = [
  null,
  true,
  false,
  '',
  ' ',
  'yes',
  'no',
  'YES',
  '0',
  '-1',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '0x40',
  ' 64 ',
  '6.4e1',
  '64px',
  '\u0000',
  '\u202e',
  '💥',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '../../etc/passwd',
  '/etc/passwd',
  'http://127.0.0.1:1/x.png',
  'http://[::1]/x.png',
  'http://169.254.169.254/latest',
  'ftp://x/y',
  'data:image/png;base64,AAAA',
  'data:image/png;base64,',
  'javascript:alert(1)',
  0,
  -0,
  -5,
  7,
  65,
  1e308,
  -1e308,
  2 ** 53 + 1,
  2 ** 31,
  0.5,
  1e-320,
  Number.MAX_SAFE_INTEGER,
];

/** Any JSON value, mostly wrong for the field: odd scalars, unicode, numbers of every size, arrays, nested objects. */
const weird = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...oddScalars) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...oddScalars), { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.object({ maxDepth: 2, maxKeys: 4 }) },
);

/** Small values that validate, so some bodies get through to a (cheap) job: 64×64, 1 step. */
const small = fc.constantFrom(64, '64', 72, 1, '1');
const or = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 1, arbitrary: valid }, { weight: 1, arbitrary: weird });

/** A body that validates (64×64, 1 step: a cheap job), field by field. */
const validControlnet = fc.record({
  key: fc.constant(API_KEY),
  model_id: fc.constantFrom('tiny-sd15', 'tiny-sd15-fp16', 'midjourney'),
  controlnet_model: fc.constantFrom('canny', 'canny,tile', 'scribble'),
  auto_hint: fc.constantFrom('yes', 'no', true),
  guess_mode: fc.constantFrom('yes', 'no'),
  prompt: fc.string({ unit: 'grapheme', maxLength: 300 }),
  negative_prompt: fc.constantFrom(null, '', 'blurry'),
  init_image: fc.constant('TINY'),
  width: small.filter((v) => Number(v) >= 64),
  height: small.filter((v) => Number(v) >= 64),
  samples: fc.constantFrom(1, '1', 2),
  num_inference_steps: fc.constantFrom(1, '1'),
  scheduler: fc.constantFrom('UniPCMultistepScheduler', 'EulerDiscreteScheduler', 'DDIMScheduler', 'LCMScheduler'),
  guidance_scale: fc.constantFrom(1, 7.5, '7.5'),
  strength: fc.constantFrom(0.5, 1, '1'),
  seed: fc.constantFrom(null, 1, '42', 2 ** 40),
  base64: fc.constantFrom('yes', 'no'),
  temp: fc.constantFrom('yes', 'no'),
  instant_response: fc.constantFrom('yes', 'no'),
  track_id: fc.constantFrom(null, 7, 'abc'),
  enhance_prompt: fc.constantFrom('yes', 'no'),
});

/** Every field of the contract (and an unknown one), each of which a mutation may set to a generated value. */
const FIELDS = [
  'key',
  'model_id',
  'controlnet_model',
  'controlnet_type',
  'auto_hint',
  'guess_mode',
  'prompt',
  'negative_prompt',
  'init_image',
  'control_image',
  'mask_image',
  'control_images',
  'width',
  'height',
  'samples',
  'num_inference_steps',
  'scheduler',
  'use_karras_sigmas',
  'algorithm_type',
  'guidance_scale',
  'strength',
  'controlnet_conditioning_scale',
  'seed',
  'clip_skip',
  'base64',
  'temp',
  'webhook',
  'instant_response',
  'track_id',
  'detect_resolution',
  'low_threshold',
  'high_threshold',
  'safety_checker',
  'enhance_prompt',
  'multi_lingual',
  'tomesd',
  'upscale',
  'vae',
  'lora_model',
  'lora_strength',
  'embeddings_model',
  'ip_adapter_id',
  'ip_adapter_scale',
  'ip_adapter_image',
  'some_unknown_field',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
] as const;

/** Width, height and steps are never deleted: a body that validates never falls back to 512² × 30 steps. */
const KEEP = new Set(['width', 'height', 'num_inference_steps']);

const DELETE = Symbol('delete');

/** A valid body with 0 to 3 fields set to generated values (or deleted). */
const controlnetBody = fc
  .tuple(
    validControlnet,
    fc.array(fc.tuple(fc.constantFrom(...FIELDS), fc.oneof({ weight: 1, arbitrary: fc.constant(DELETE) }, { weight: 8, arbitrary: weird })), { maxLength: 3 }),
  )
  .map(([base, mutations]) => {
    const body: Record<string, unknown> = { ...base };
    for (const [field, value] of mutations) {
      if (value === DELETE) {
        if (!KEEP.has(field)) delete body[field];
      }
      // defineProperty: "__proto__" becomes an own key that JSON.stringify writes out.
      else Object.defineProperty(body, field, { value, enumerable: true, writable: true, configurable: true });
    }
    return body;
  });

const detectBody = fc.record(
  {
    key: fc.constant(API_KEY),
    controlnet_type: or(fc.constantFrom('canny', 'scribble', 'depth')),
    image: or(fc.constant('TINY')),
    width: or(small),
    height: or(small),
    detect_resolution: or(fc.constantFrom(64)),
    base64: weird,
  },
  { requiredKeys: ['key', 'width', 'height', 'detect_resolution'] },
);

const fetchBody = fc.record({ key: fc.constant(API_KEY), request_id: weird }, { requiredKeys: ['key'] });

/** How the body is framed: as is, with a prototype key spliced in, or not an object at all. */
const framing = fc.constantFrom('plain', 'plain', 'plain', 'plain', 'proto', 'constructor', 'array', 'scalar');

const request = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.constant('/api/v1/enterprise/controlnet'), controlnetBody, framing) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('/api/v1/enterprise/controlnet/detect'), detectBody, framing) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('/api/v1/enterprise/fetch'), fetchBody, framing) },
);

function frame(body: Record<string, unknown>, how: string): string {
  const text = JSON.stringify(body, (_k, v) => (v === 'TINY' ? tinyPng : v));
  if (how === 'proto') return text.replace(/^\{/, '{"__proto__":{"polluted":true},');
  if (how === 'constructor') return text.replace(/^\{/, '{"constructor":{"prototype":{"polluted":true}},');
  if (how === 'array') return `[${text}]`;
  if (how === 'scalar') return JSON.stringify(text.length);
  return text;
}

describe('fuzzing the API with generated bodies (real server process)', () => {
  it(`${RUNS} bodies: no 5xx, every error in the contract's shape, and the server still serves`, async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async ([route, body, how]) => {
        const res = await fetch(`${server.base}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: frame(body, how) });
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        expect(res.status).toBeLessThan(500);
        const type = res.headers.get('content-type') ?? '';
        if (type.startsWith('image/png')) {
          expect(res.status).toBe(200);
          await res.arrayBuffer();
          return;
        }
        const json = (await res.json()) as Record<string, unknown>;
        if (res.status >= 400) {
          expect(json.status).toBe('error');
          expect(typeof json.message).toBe('string');
          expect((json.message as string).length).toBeGreaterThan(0);
          expect(json.message).not.toContain(process.cwd());
        } else {
          expect(['success', 'processing']).toContain(json.status);
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    // Most bodies are refused, some get through: both paths were exercised.
    const refused = [...seen].filter(([s]) => s >= 400).reduce((n, [, c]) => n + c, 0);
    expect(refused).toBeGreaterThan(RUNS / 2);
    expect(seen.get(200) ?? 0).toBeGreaterThan(0);

    // The next valid request is served.
    expect((await server.post('/api/v1/enterprise/clear_queue', { key: API_KEY })).status).toBe(200);
    const ok = await server.post('/api/v1/enterprise/controlnet', {
      key: API_KEY,
      model_id: 'tiny-sd15',
      controlnet_model: 'canny',
      auto_hint: 'yes',
      init_image: tinyPng,
      width: 64,
      height: 64,
      num_inference_steps: 1,
    });
    expect(ok.status).toBe(200);
    let json = ok.json;
    const deadline = Date.now() + 60_000;
    while (json.status === 'processing' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      json = (await server.post(`/api/v1/enterprise/fetch/${ok.json.id}`, { key: API_KEY })).json;
    }
    expect(json.status).toBe('success');
  }, 240_000);
});

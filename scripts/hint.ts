/**
 * Computes a ControlNet hint from an image file, as `auto_hint: "yes"` does.
 *
 *   npx tsx scripts/hint.ts --type canny --in photo.png --out hint.png
 *       [--low 100 --high 200 --resolution 512 --width W --height H --seed N --mask m.png
 *        --thr-v 0.1 --thr-d 0.1 --tile-rate 2 --annotators models/annotators]
 *
 * The output size defaults to the input's. Bad input ends with one line on stderr and exit code 2 (bad
 * arguments, unreadable files) or 1 (rejected by the preprocessor).
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { RawImage } from '../src/image/types.js';
import { AnnotatorMissingError, HINT_TYPES, HintError, makeHint, type HintOptions } from '../src/preprocessors/registry.js';
import { createAnnotatorSessions } from '../src/runtime/annotator-sessions.js';

class UsageError extends Error {}

const USAGE = `usage: hint.ts --type <${HINT_TYPES.join('|')}> --in <image> --out <png> [--low N --high N --resolution N --width N --height N --seed N --mask <image> --thr-v N --thr-d N --tile-rate N --annotators <dir>]`;

const NUMBER_FLAGS = {
  low: 'lowThreshold',
  high: 'highThreshold',
  resolution: 'detectResolution',
  width: 'width',
  height: 'height',
  seed: 'seed',
  'thr-v': 'thrV',
  'thr-d': 'thrD',
  'tile-rate': 'tileRate',
} as const satisfies Record<string, keyof HintOptions>;

function parseNumber(flag: string, text: string): number {
  const value = text.trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(value)) throw new UsageError(`--${flag} needs a number, got "${text}"`);
  return value;
}

async function readImage(path: string, what: string): Promise<RawImage> {
  if (!existsSync(path)) throw new UsageError(`${what} not found: ${path}`);
  try {
    const { data, info } = await sharp(path).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: info.channels as 3 | 4 };
  } catch (error) {
    throw new UsageError(`cannot decode ${what} ${path}: ${(error as Error).message}`);
  }
}

async function main(argv: string[]): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        type: { type: 'string' },
        in: { type: 'string' },
        out: { type: 'string' },
        mask: { type: 'string' },
        annotators: { type: 'string' },
        help: { type: 'boolean' },
        ...Object.fromEntries(Object.keys(NUMBER_FLAGS).map((flag) => [flag, { type: 'string' as const }])),
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (--help lists the options)`);
  }
  if (values.help === true) {
    console.log(USAGE);
    return;
  }
  const text = (flag: string) => values[flag] as string | undefined;
  for (const required of ['type', 'in', 'out'] as const) {
    if (text(required) === undefined) throw new UsageError(`--${required} is required (--help lists the options)`);
  }

  const image = await readImage(text('in')!, 'input image');
  const options: HintOptions = { width: image.width, height: image.height };
  for (const [flag, field] of Object.entries(NUMBER_FLAGS)) {
    const given = text(flag);
    if (given !== undefined) options[field] = parseNumber(flag, given);
  }
  const maskPath = text('mask');
  if (maskPath !== undefined) options.mask = await readImage(maskPath, 'mask');

  // Model-based types run their network from the annotators folder (CPU).
  options.annotatorsDir = text('annotators') ?? 'models/annotators';
  const annotators = createAnnotatorSessions(options.annotatorsDir, { providers: ['cpu'], deviceId: 0, threads: 0 });
  options.annotators = annotators;

  const type = text('type')!;
  const out = text('out')!;
  const hint = await makeHint(type, image, options).finally(() => annotators.release());
  const { data, width, height, channels } = hint.image;
  await sharp(data, { raw: { width, height, channels } }).png().toFile(out);
  const masked = hint.minusOneMask?.reduce((n, v) => n + v, 0);
  console.log(`${out}: ${type} hint ${width}x${height}${masked === undefined ? '' : `, ${masked} pixels at -1`}`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const known = error instanceof UsageError || error instanceof HintError || error instanceof AnnotatorMissingError;
  const message = error instanceof Error ? error.message : String(error);
  console.error(`hint: ${known ? '' : 'failed: '}${message.split('\n')[0]}`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
});

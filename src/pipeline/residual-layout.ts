/**
 * Where each ControlNet residual sits in the UNet: its channels and its resolution level (the number of stride-2
 * downsamplings between the latent and it). diffusers' `down_block_res_samples` are, in order, conv_in's output
 * (level 0), each down block's resnet(+attention) outputs (level b) and, except after the last block, its
 * downsampler's output (level b + 1); the mid-block residual sits at the last level. SD 1.x/2.x (4 blocks of 2
 * layers): 12 + 1; diffusers' tiny test UNet (2 blocks of 2): 6 + 1; a distilled 3-block UNet: 9 + 1.
 *
 * The levels are read, in this order of trust, from: the UNet's config (`block_out_channels`, `layers_per_block`),
 * static sizes in the graph, the graph's symbolic sizes (`height_div4`, `ceil(height/4)`), and last the structure
 * above fitted to the residual count and channels.
 */
import type { TensorSpec } from '../runtime/signatures.js';

export interface ResidualSlot {
  /** Channels the graph states, or null where it leaves them symbolic. */
  channels: number | null;
  level: number;
}

/** The parts of a diffusers UNet2DConditionModel / ControlNetModel config.json that fix the residual layout. */
export interface UNetLayoutConfig {
  block_out_channels?: unknown;
  layers_per_block?: unknown;
}

const channelsOf = (s: TensorSpec): number | null => (typeof s.shape[1] === 'number' ? s.shape[1] : null);

/** diffusers' (channels, level) of each down residual, then the mid one, for blocks of these widths and depths. */
export function slotsFromBlocks(blockOut: readonly number[], layers: readonly number[]): ResidualSlot[] {
  const slots: ResidualSlot[] = [{ channels: blockOut[0]!, level: 0 }];
  blockOut.forEach((channels, b) => {
    for (let l = 0; l < layers[b]!; l++) slots.push({ channels, level: b });
    if (b < blockOut.length - 1) slots.push({ channels, level: b + 1 });
  });
  slots.push({ channels: blockOut[blockOut.length - 1]!, level: blockOut.length - 1 });
  return slots;
}

function fromConfig(config: UNetLayoutConfig | undefined): ResidualSlot[] | null {
  const blocks = config?.block_out_channels;
  if (!Array.isArray(blocks) || blocks.length === 0 || !blocks.every((c) => Number.isInteger(c) && c > 0)) return null;
  const raw = config!.layers_per_block ?? 2;
  const layers = Array.isArray(raw) ? raw : blocks.map(() => raw);
  if (layers.length !== blocks.length || !layers.every((l) => Number.isInteger(l) && l > 0)) return null;
  return slotsFromBlocks(blocks as number[], layers as number[]);
}

/** Levels from static sizes relative to a static latent size: each stride-2 conv maps n to ceil(n / 2). */
function fromStaticSizes(residuals: readonly TensorSpec[], sample: TensorSpec): number[] | null {
  const base = sample.shape[2];
  if (typeof base !== 'number') return null;
  const levels: number[] = [];
  for (const r of residuals) {
    const h = r.shape[2];
    if (typeof h !== 'number') return null;
    let n = base;
    let level = 0;
    while (n > h && level < 16) {
      n = Math.ceil(n / 2);
      level++;
    }
    if (n !== h) return null;
    levels.push(level);
  }
  return levels;
}

/**
 * Levels from symbolic sizes: a factor written in the name (`height_div4`, `ceil(height/4)`: level 2), else the
 * sample's own symbol is level 0 and each new symbol, in order, one level more. Null when the names do not tell
 * (all the same, unnamed, or not in runs).
 */
function fromSymbols(residuals: readonly TensorSpec[], sample: TensorSpec): number[] | null {
  const symbols = residuals.map((r) => r.shape[2]);
  if (!symbols.every((s) => typeof s === 'string' && s.length > 0)) return null;
  const factors = (symbols as string[]).map((s) => /(?:div|\/)\s*(\d+)\)?$/.exec(s)?.[1]);
  if (factors.every((f, i) => f !== undefined || symbols[i] === sample.shape[2])) {
    const levels = factors.map((f) => (f === undefined ? 0 : Math.log2(Number(f))));
    if (levels.every((l) => Number.isInteger(l))) return levels;
  }
  if (symbols[0] !== sample.shape[2]) return null;
  const seen = new Map<string, number>();
  const levels: number[] = [];
  let previous: string | null = null;
  for (const s of symbols as string[]) {
    if (!seen.has(s)) seen.set(s, seen.size);
    else if (s !== previous) return null;
    levels.push(seen.get(s)!);
    previous = s;
  }
  // The mid residual shares the last down residual's level; a new symbol there is no level of ours.
  const last = levels.length - 1;
  if (levels[last] !== levels[last - 1]) return null;
  return levels;
}

/**
 * Levels from the structure alone: n down residuals are B blocks of L layers with n = B·(L + 1); the candidate whose
 * channel pattern the graph agrees with (where it states channels) wins, diffusers' default L = 2 first.
 */
function fromStructure(residuals: readonly TensorSpec[]): ResidualSlot[] | null {
  const down = residuals.length - 1;
  const depths = [2, 1, 3, 4, 5, 6].filter((l) => down % (l + 1) === 0);
  for (const l of depths) {
    const blocks = down / (l + 1);
    const widths = Array.from({ length: blocks }, (_, b) => channelsOf(residuals[1 + b * (l + 1)]!) ?? 0);
    const slots = slotsFromBlocks(
      widths,
      widths.map(() => l),
    );
    if (slots.every((s, i) => s.channels === 0 || channelsOf(residuals[i]!) === null || channelsOf(residuals[i]!) === s.channels)) return slots;
  }
  return null;
}

/** The levels a graph states itself (static or named sizes), or null where it does not. */
export function statedLevels(residuals: readonly TensorSpec[], sample: TensorSpec): number[] | null {
  return fromStaticSizes(residuals, sample) ?? fromSymbols(residuals, sample);
}

export class ResidualLayoutError extends Error {}

/**
 * The layout of the UNet's residual inputs (down residuals in order, then mid). `config` is the UNet's config.json
 * (or the ControlNet's) when the folder has one; a config that disagrees with the graph's count is ignored.
 */
export function residualLayout(residuals: readonly TensorSpec[], sample: TensorSpec, config?: UNetLayoutConfig): ResidualSlot[] {
  const withChannels = (levels: readonly number[]) => residuals.map((r, i) => ({ channels: channelsOf(r), level: levels[i]! }));
  const configured = fromConfig(config);
  if (configured && configured.length === residuals.length) {
    return configured.map((s, i) => ({ channels: channelsOf(residuals[i]!) ?? s.channels, level: s.level }));
  }
  const levels = statedLevels(residuals, sample);
  if (levels) return withChannels(levels);
  const structured = fromStructure(residuals);
  if (structured) return withChannels(structured.map((s) => s.level));
  throw new ResidualLayoutError(
    `cannot tell the resolution of its ${residuals.length} residual inputs (no unet/config.json with block_out_channels and ` +
      'layers_per_block, and the graph leaves their sizes unnamed)',
  );
}

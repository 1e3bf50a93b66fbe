/** Options every model builder takes, and the GraphBuilder they start from. */
import { GraphBuilder, type ParamOptions } from '../../../src/onnx/graph.js';
import type { ExportFormat } from './formats.js';

export interface BuildOptions {
  /** Default: the config's seed for the component. */
  seed?: number;
  /** Default: the format's float type. 'none' builds the structure only (parameter counts, tests). */
  storage?: ParamOptions['storage'];
}

export function newGraph(name: string, format: ExportFormat, defaultSeed: number, opts: BuildOptions): GraphBuilder {
  return new GraphBuilder(name, { seed: opts.seed ?? defaultSeed, storage: opts.storage ?? format.float });
}

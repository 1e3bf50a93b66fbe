import type { BaseModelFiles } from '../../domain/index.js';

/** The on-disk layouts the catalog recognises (docs/model-layouts.md). */
export type LayoutName = 'native' | 'onnx-web' | 'onnxstack' | 'axodox';

export interface LayoutContext {
  /** The models directory: shared tokenizer/ and ControlNet folders live there. */
  modelsDir: string;
}

/** A base model folder read by a layout adapter, or why it cannot be used. */
export type LayoutReading = { model: BaseModelFiles } | { rejected: string };

export interface ModelLayout {
  name: LayoutName;
  /** Whether `dir` looks like this layout (file presence only: cheap, no model parsing). */
  matches(dir: string): Promise<boolean>;
  read(id: string, dir: string, ctx: LayoutContext): Promise<LayoutReading>;
  /** Folders under the base model holding ControlNets meant for it alone (none: use the shared ones). */
  ownControlNetDirs(dir: string): string[];
}

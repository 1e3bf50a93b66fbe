import type { ModelDescription } from '../model-description.js';
import type { ModelFamily } from './model-family.js';
import { SD_FAMILY } from './sd.js';
import { SDXL_FAMILY } from './sdxl.js';

export type { ModelFamily, PromptRequest, TextConditioning } from './model-family.js';

const FAMILIES: Record<ModelDescription['family'], ModelFamily> = { sd: SD_FAMILY, sdxl: SDXL_FAMILY };

/** The family module of a described model. */
export function familyOf(description: ModelDescription): ModelFamily {
  return FAMILIES[description.family];
}

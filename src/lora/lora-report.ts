/** What a request's LoRAs matched in the model's graphs: a 400 when nothing of a LoRA matches, warnings when a part does not. */
import { badRequest } from '../domain/client-error.js';
import type { MergeReport } from './merge.js';

export function loraWarnings(modelId: string, reports: readonly MergeReport[]): string[] {
  const byName = new Map<string, { matched: number; total: number }>();
  for (const r of reports) {
    const s = byName.get(r.name) ?? { matched: 0, total: r.modules + r.unsupported };
    s.matched += r.matched;
    byName.set(r.name, s);
  }
  const warnings: string[] = [];
  for (const [name, { matched, total }] of byName) {
    if (matched === 0)
      throw badRequest(
        `lora_model: no layer of LoRA "${name}" matches a weight of model ${modelId} (another base model's LoRA, or a format this server does not read)`,
      );
    if (matched < total)
      warnings.push(`lora_model: ${total - matched} of ${total} layers of LoRA "${name}" match no weight of model ${modelId} and were not applied`);
  }
  return warnings;
}

/**
 * LoRA files in kohya / AUTOMATIC1111 layout (`lora_unet_…`, `lora_te_…`, `lora_te1_…`/`lora_te2_…`, with
 * `.lora_down.weight`, `.lora_up.weight`, `.alpha`; LoCon convolutions included) and diffusers / PEFT layout
 * (`unet.….lora_A.weight` / `lora_B.weight`, `text_encoder.…`, and diffusers' older `lora.down`/`lora.up` and
 * `processor.to_q_lora` names), read into one list of low-rank updates per module.
 */
import type { SafetensorsFile, SafetensorsTensor } from '../weights/safetensors.js';

export type LoraComponent = 'unet' | 'text_encoder' | 'text_encoder_2';

export interface LoraModule {
  component: LoraComponent;
  /** The module's path flattened with `_` (kohya's form), as `canonicalModuleKey` writes it. */
  key: string;
  /** The prefix of the file's keys for this module (for messages). */
  source: string;
  /** [rank, in] or [rank, in, kh, kw]. */
  down: SafetensorsTensor;
  /** [out, rank] or [out, rank, 1, 1]. */
  up: SafetensorsTensor;
  rank: number;
  /** `alpha` when the file gives it; the scale is strength × alpha / rank (× 1 without alpha). */
  alpha: number | null;
}

export interface ParsedLora {
  modules: LoraModule[];
  /** Keys this reader does not take (LoHa/LoKr factors, DoRA scales, …): reported, not applied. */
  unsupported: string[];
}

const KOHYA_PREFIX: Record<string, LoraComponent> = { lora_unet_: 'unet', lora_te_: 'text_encoder', lora_te1_: 'text_encoder', lora_te2_: 'text_encoder_2' };
const PEFT_PREFIX: Record<string, LoraComponent> = { 'unet.': 'unet', 'text_encoder.': 'text_encoder', 'text_encoder_2.': 'text_encoder_2' };

/**
 * A module path in one canonical form for matching: `.` and `/` become `_`, and the text encoder's `encoder.layers`
 * is `layers` (torch's exporter drops the `encoder` scope from CLIP's node names).
 */
export function canonicalModuleKey(component: LoraComponent, path: string): string {
  let key = path.replace(/[./]/g, '_');
  if (component !== 'unet') key = key.replace(/(^|_)encoder_layers_/, '$1layers_');
  return key;
}

type Part = 'down' | 'up' | 'alpha';

function splitKey(name: string): { component: LoraComponent; path: string; part: Part; kohya: boolean } | null {
  for (const [prefix, component] of Object.entries(KOHYA_PREFIX)) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(.*)\.(lora_down\.weight|lora_up\.weight|alpha)$/.exec(name.slice(prefix.length));
    if (!m) return null;
    return { component, path: m[1]!, part: m[2] === 'alpha' ? 'alpha' : m[2]!.startsWith('lora_down') ? 'down' : 'up', kohya: true };
  }
  let component: LoraComponent = 'unet';
  let rest = name;
  for (const [prefix, c] of Object.entries(PEFT_PREFIX)) {
    if (name.startsWith(prefix)) {
      component = c;
      rest = name.slice(prefix.length);
      break;
    }
  }
  // diffusers' attention-processor names: attn1.processor.to_q_lora.down.weight → attn1.to_q, to_out_lora → to_out.0
  const processor = /^(.*)\.processor\.(to_[qkv]|to_out)_lora\.(down|up)\.weight$/.exec(rest);
  if (processor) {
    const module = processor[2] === 'to_out' ? 'to_out.0' : processor[2]!;
    return { component, path: `${processor[1]}.${module}`, part: processor[3] as Part, kohya: false };
  }
  const m = /^(.*)\.(lora_A\.weight|lora_B\.weight|lora\.down\.weight|lora\.up\.weight|lora_A\.default\.weight|lora_B\.default\.weight|alpha)$/.exec(rest);
  if (!m) return null;
  const suffix = m[2]!;
  const part: Part = suffix === 'alpha' ? 'alpha' : /lora_A|down/.test(suffix) ? 'down' : 'up';
  return { component, path: m[1]!, part, kohya: false };
}

export function parseLora(file: SafetensorsFile): ParsedLora {
  const groups = new Map<
    string,
    { component: LoraComponent; path: string; down?: SafetensorsTensor; up?: SafetensorsTensor; alpha?: number; source: string }
  >();
  const unsupported: string[] = [];
  for (const [name, tensor] of file.tensors) {
    const s = splitKey(name);
    if (!s) {
      unsupported.push(name);
      continue;
    }
    const id = `${s.component}:${s.path}`;
    const g = groups.get(id) ?? {
      component: s.component,
      path: s.path,
      source: name.replace(/(_lora\.(down|up)\.weight|\.(lora_down|lora_up|lora_A|lora_B|lora|alpha)(\..*)?)$/, ''),
    };
    if (s.part === 'alpha') g.alpha = tensor.values[0]!;
    else g[s.part] = tensor;
    groups.set(id, g);
  }
  const modules: LoraModule[] = [];
  for (const g of groups.values()) {
    if (!g.down || !g.up) {
      unsupported.push(`${g.source} (no ${g.down ? 'up' : 'down'} matrix)`);
      continue;
    }
    const rank = g.down.shape[0]!;
    if (g.up.shape[1] !== rank || g.up.shape.length < 2 || g.up.shape.slice(2).some((d) => d !== 1)) {
      unsupported.push(`${g.source} (up ${g.up.shape.join('x')} does not fit down ${g.down.shape.join('x')})`);
      continue;
    }
    modules.push({
      component: g.component,
      key: canonicalModuleKey(g.component, g.path),
      source: g.source,
      down: g.down,
      up: g.up,
      rank,
      alpha: g.alpha ?? null,
    });
  }
  return { modules, unsupported };
}

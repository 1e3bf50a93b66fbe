/**
 * ControlNet graphs in a folder, under the names requests use. Layouts store them as <name>/model.onnx (ours,
 * OnnxStack's converter, onnx-web's converter) or as <name>.onnx files (axodox/Unpaint, onnx-web's downloads).
 */
import path from 'node:path';
import { entries, isFile } from './files.js';

/** Other tools' names for the contract's ControlNet types. */
const SYNONYMS: Record<string, string> = { seg: 'segmentation', pose: 'openpose', normalbae: 'normal' };

/** A request-friendly name: lower case (OnnxStack writes Canny, OpenPose), with other tools' synonyms mapped. */
export function controlNetName(raw: string): string {
  const lower = raw.toLowerCase();
  return SYNONYMS[lower] ?? lower;
}

/** name -> model file. The first spelling found wins when two entries map to the same name. */
export async function controlNetsIn(dir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const entry of await entries(dir)) {
    let file: string | null = null;
    let raw = entry.name;
    if (entry.dir && (await isFile(path.join(dir, entry.name, 'model.onnx')))) file = path.join(dir, entry.name, 'model.onnx');
    else if (entry.file && entry.name.toLowerCase().endsWith('.onnx')) {
      file = path.join(dir, entry.name);
      raw = entry.name.slice(0, -'.onnx'.length);
    }
    const name = controlNetName(raw);
    if (file && !found.has(name)) found.set(name, file);
  }
  return found;
}

/**
 * Older OnnxStack/Amuse folders (and axodox's custom_op_cliptok.onnx) hold the CLIP tokenizer as an
 * onnxruntime-extensions graph: one CLIPTokenizer node whose `vocab` and `merges` attributes carry vocab.json and
 * merges.txt verbatim. onnxruntime-node cannot run that custom op, but the vocabulary is all we need.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { onnx } from '../onnx/onnx.js';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';

export interface TokenizerGraphFiles {
  vocab: Record<string, number>;
  merges: string;
}

/** vocab.json and merges.txt from a CLIPTokenizer graph; null when `file` holds none. */
export async function readTokenizerGraph(file: string): Promise<TokenizerGraphFiles | null> {
  const model = onnx.ModelProto.decode(await fs.readFile(file));
  const node = model.graph?.node?.find((n) => n.opType === 'CLIPTokenizer');
  if (!node) return null;
  const text = (name: string) => {
    const bytes = node.attribute?.find((a) => a.name === name)?.s;
    return bytes ? new TextDecoder().decode(bytes) : null;
  };
  const vocab = text('vocab');
  const merges = text('merges');
  if (vocab === null || merges === null) return null;
  return { vocab: JSON.parse(vocab) as Record<string, number>, merges };
}

/** A folder's tokenizer: tokenizer.json or vocab.json + merges.txt, else a CLIPTokenizer graph in model.onnx. */
export async function loadClipTokenizer(dir: string): Promise<ClipTokenizer> {
  try {
    return await ClipTokenizer.fromFolder(dir);
  } catch (err) {
    const graph = path.join(dir, 'model.onnx');
    const files = await fs.access(graph).then(
      () => readTokenizerGraph(graph),
      () => null,
    );
    if (!files) throw err;
    return ClipTokenizer.fromVocabAndMerges(files.vocab, files.merges);
  }
}

#!/usr/bin/env python3
"""Make the textual-inversion parity fixtures: seeded embedding files for the sd-tiny parity model (hidden size 32)
in AUTOMATIC1111's layout (`emb_params`, 3 vectors: a multi-vector embedding) and diffusers' (`{"<cat-toy>": [32]}`,
one vector), and diffusers 0.27.2's images for seeded requests with them loaded by `load_textual_inversion`.

    PYTHONPATH=/tmp/pyref/src /usr/bin/python3 scripts/reference/make-embeddings-parity.py [sd|sdxl]

(/tmp/pyref/src holds diffusers 0.27.2's and huggingface_hub 0.25.2's src/ trees, e.g. `git archive v0.27.2
src/diffusers | tar -x -C /tmp/pyref` from their repositories; as for make-lora-parity.py.) The
model is rebuilt with make-parity.py's seeded build_folder (the same weights as test/fixtures/parity/sd-tiny;
checked: the case without embeddings must reproduce that folder's euler image). As the server does, the A1111 file
is loaded with its id as the token (`load_textual_inversion(path, token="mystyle")`, as diffusers' docs load an
A1111 file); the diffusers file names its own token. Writes test/fixtures/embeddings/.

`sdxl` does the same for the sdxl-tiny parity model (both text encoders 32 wide) with an SDXL file
(`{"clip_l": [2, 32], "clip_g": [2, 32]}`), loaded as diffusers' docs load one: `load_textual_inversion(sd["clip_l"],
token=..., text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer)` and the same with clip_g for text_encoder_2 /
tokenizer_2. Writes test/fixtures/embeddings/sdxl/.
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("make_parity", ROOT / "scripts" / "reference" / "make-parity.py")
mp = importlib.util.module_from_spec(spec)
sys.modules["make_parity"] = mp
spec.loader.exec_module(mp)  # puts the stand-ins on sys.path
lora_spec = importlib.util.spec_from_file_location("make_lora_parity", ROOT / "scripts" / "reference" / "make-lora-parity.py")
ml = importlib.util.module_from_spec(lora_spec)
lora_spec.loader.exec_module(ml)
from PIL import Image  # noqa: E402

OUT = ROOT / "test" / "fixtures" / "embeddings"
BASE_PROMPT = "a red rocket on the moon, photo"


def write_safetensors(path: Path, tensors, metadata=None) -> None:
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        b = t.detach().contiguous().float().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def make_sdxl() -> int:
    import diffusers

    torch.set_num_threads(2)
    out = OUT / "sdxl"
    shutil.rmtree(out, ignore_errors=True)
    (out / "embeddings").mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="embeddings-parity-sdxl-") as tmp:
        work = Path(tmp)
        folder = work / "diffusers"
        paths = mp.build_folder("sdxl", folder, work)
        components, _, _, _ = mp.load_folder("sdxl", folder, paths)
        g = torch.Generator().manual_seed(8765)
        vectors = {}
        for key, encoder in (("clip_l", "text_encoder"), ("clip_g", "text_encoder_2")):
            table = components[encoder].get_input_embeddings().weight.detach()
            vectors[key] = torch.randn((2, table.shape[1]), generator=g) * float(table.std()) * 1.5
        path = out / "embeddings" / "sdxlstyle.safetensors"
        write_safetensors(path, vectors)
        runs = [
            ("none", [], BASE_PROMPT, mp.NEGATIVE),
            ("pair", ["sdxlstyle"], "a red rocket on the moon, sdxlstyle photo", "blurry, sdxlstyle"),
        ]
        entries = []
        for name, ids, prompt, negative in runs:
            print(f"embeddings sdxl: {name}", flush=True)
            components, controlnets, scheduler_config, index = mp.load_folder("sdxl", folder, paths)
            if ids:
                loader = diffusers.StableDiffusionXLPipeline(
                    **components, scheduler=diffusers.EulerDiscreteScheduler.from_config(scheduler_config),
                )
                for key, encoder, tokenizer in (("clip_l", "text_encoder", "tokenizer"), ("clip_g", "text_encoder_2", "tokenizer_2")):
                    loader.load_textual_inversion(
                        vectors[key], token="sdxlstyle", text_encoder=components[encoder], tokenizer=components[tokenizer]
                    )
            case = mp.Case(f"emb-sdxl-{name}", seed=31, prompt=prompt, negative_prompt=negative)
            entry = mp.run_case("sdxl", case, components, controlnets, scheduler_config, index, out, "sdxl-tiny")
            if ids:
                entry["request"]["embeddings_model"] = ",".join(ids)
            (out / entry["debug"].pop("first_noise_pred")).unlink()
            entries.append(entry)
    base = np.asarray(Image.open(out / "expected" / "emb-sdxl-none-0.png")).astype(int)
    ref = np.asarray(Image.open(ROOT / "test" / "fixtures" / "parity" / "sdxl-tiny" / "expected" / "euler-0.png")).astype(int)
    print("no-embedding image vs the parity fixture's euler image: max diff", int(np.abs(base - ref).max()))
    doc = {
        "model": "test/fixtures/parity/sdxl-tiny/models (model_id sdxl-tiny)",
        "embeddings_dir": "embeddings/",
        "loading": "diffusers 0.27.2 load_textual_inversion of clip_l into text_encoder/tokenizer, clip_g into text_encoder_2/tokenizer_2",
        "tolerance": "each output pixel within 1/255 of expected/",
        "cases": entries,
    }
    (out / "cases.json").write_text(json.dumps(doc, indent=2) + "\n")
    return 0


def main() -> int:
    import diffusers
    from diffusers.loaders import TextualInversionLoaderMixin

    torch.set_num_threads(2)
    if OUT.exists():
        shutil.rmtree(OUT / "expected", ignore_errors=True)
        shutil.rmtree(OUT / "debug", ignore_errors=True)
    (OUT / "embeddings").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="embeddings-parity-") as tmp:
        work = Path(tmp)
        folder = work / "diffusers"
        paths = mp.build_folder("sd", folder, work)
        components, _, _, _ = mp.load_folder("sd", folder, paths)
        table = components["text_encoder"].get_input_embeddings().weight.detach()
        scale = float(table.std()) * 1.5
        g = torch.Generator().manual_seed(4321)
        mystyle = torch.randn((3, table.shape[1]), generator=g) * scale
        cattoy = torch.randn((table.shape[1],), generator=g) * scale
        files = {
            "mystyle": OUT / "embeddings" / "mystyle.safetensors",  # AUTOMATIC1111: emb_params [3, 32]
            "cattoy": OUT / "embeddings" / "cattoy.safetensors",  # diffusers: {"<cat-toy>": [32]}
        }
        write_safetensors(files["mystyle"], {"emb_params": mystyle})
        write_safetensors(files["cattoy"], {"<cat-toy>": cattoy})
        tokens = {"mystyle": "mystyle", "cattoy": None}
        runs = [
            ("none", [], BASE_PROMPT, mp.NEGATIVE),
            ("a1111", ["mystyle"], "a red rocket on the moon, mystyle photo", mp.NEGATIVE),
            ("diffusers", ["cattoy"], "a <cat-toy> on the moon, photo", mp.NEGATIVE),
            ("both", ["mystyle", "cattoy"], "mystyle, a <cat-toy> on the moon", "blurry, mystyle"),
            # With test/fixtures/lora's kohya_mix LoRA fused at 1 (UNet and text encoder): one merged text encoder.
            ("lora", ["mystyle"], "a red rocket on the moon, mystyle photo", mp.NEGATIVE),
        ]
        entries = []
        for name, ids, prompt, negative in runs:
            print(f"embeddings: {name}", flush=True)
            components, controlnets, scheduler_config, index = mp.load_folder("sd", folder, paths)
            if name == "lora":
                # make-lora-parity.py's kohya_mix (same seed, rank and alpha), fused as diffusers 0.27.2 does.
                ml.fuse(components, ml.make_lora(components, rank=4, seed=1234, bound=0.5), 2.0, 1.0)
            if ids:
                loader = diffusers.StableDiffusionPipeline(
                    **components, scheduler=diffusers.EulerDiscreteScheduler.from_config(scheduler_config),
                    safety_checker=None, feature_extractor=None, requires_safety_checker=False,
                )
                for eid in ids:  # one call per file, in the request's order (the rows follow that order)
                    loader.load_textual_inversion(str(files[eid]), token=tokens[eid])
            case = mp.Case(f"emb-{name}", seed=11, prompt=prompt, negative_prompt=negative)
            entry = mp.run_case("sd", case, components, controlnets, scheduler_config, index, OUT, "sd-tiny")
            if ids:
                entry["request"]["embeddings_model"] = ",".join(ids)
            if name == "lora":
                entry["request"]["lora_model"] = "kohya_mix"
                entry["request"]["lora_strength"] = "1"
            # The ids the prompts give after diffusers' maybe_convert_prompt (multi-vector tokens expanded).
            tok = components["tokenizer"]
            for label, text in (("prompt", prompt), ("negative_prompt", negative or "")):
                converted = TextualInversionLoaderMixin._maybe_convert_prompt(None, text, tok)
                entry["token_ids"][f"tokenizer.{label}"] = tok(converted, padding="max_length", max_length=77, truncation=True).input_ids
            (OUT / entry["debug"].pop("first_noise_pred")).unlink()
            entries.append(entry)
    base = np.asarray(Image.open(OUT / "expected" / "emb-none-0.png")).astype(int)
    ref = np.asarray(Image.open(ROOT / "test" / "fixtures" / "parity" / "sd-tiny" / "expected" / "euler-0.png")).astype(int)
    print("no-embedding image vs the parity fixture's euler image: max diff", int(np.abs(base - ref).max()))
    doc = {
        "model": "test/fixtures/parity/sd-tiny/models (model_id sd-tiny)",
        "embeddings_dir": "embeddings/",
        "loading": "diffusers 0.27.2 load_textual_inversion, one call per file in request order (see make-embeddings-parity.py)",
        "tolerance": "each output pixel within 1/255 of expected/",
        "cases": entries,
    }
    (OUT / "cases.json").write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(make_sdxl() if sys.argv[1:] == ["sdxl"] else main())

#!/usr/bin/env python3
"""Make the LoRA parity fixtures: seeded random LoRA files for the sd-tiny parity model (one kohya / AUTOMATIC1111
file with alpha, UNet + text encoder, LoCon 3x3 and 1x1 convolutions included; one diffusers / PEFT file without
alpha) and diffusers 0.27.2's images for seeded requests with those LoRAs fused into the model. With
`--family sdxl`, the same for the sdxl-tiny parity model (StableDiffusionXLControlNetPipeline): a kohya file on the
UNet and both text encoders (`lora_unet_`, `lora_te1_`, `lora_te2_`), its key mapping checked against diffusers'
own `_convert_kohya_lora_to_diffusers`, and a PEFT file on the second text encoder only (`text_encoder_2.…`,
its `text_projection` included). Writes test/fixtures/lora-sdxl/.

    PYTHONPATH=/tmp/pyref/src /usr/bin/python3 scripts/reference/make-lora-parity.py [--family sd|sdxl]

The fusion is done by hand, exactly as diffusers 0.27.2's LoRACompatibleLinear/LoRACompatibleConv._fuse_lora
compute it (w_up * network_alpha / rank, then w + lora_scale * mm(w_up.flatten(1), w_down.flatten(1))), and
one LoRA after the other for several: without the peft package, 0.27.2's load_lora_weights keeps one LoRA per
layer, and its text-encoder path needs peft-free monkey patching that the transformers stand-in does not carry.
The model is rebuilt with make-parity.py's seeded build_folder (the same weights as test/fixtures/parity/sd-tiny,
checked: the case without LoRA must reproduce that folder's euler image). Writes test/fixtures/lora/ (sd) or
test/fixtures/lora-sdxl/ (sdxl).
"""
from __future__ import annotations

import argparse
import importlib.util
import re
import json
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
from PIL import Image  # noqa: E402

OUT = ROOT / "test" / "fixtures" / "lora"
OUT_SDXL = ROOT / "test" / "fixtures" / "lora-sdxl"

UNET_MODULES = [
    "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q",
    "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_v",
    "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k",
    "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_out.0",
    "down_blocks.1.attentions.0.transformer_blocks.0.ff.net.0.proj",
    "down_blocks.1.attentions.0.proj_in",  # Conv 1x1
    "down_blocks.0.resnets.0.conv1",  # Conv 3x3 (LoCon)
    "down_blocks.0.resnets.0.time_emb_proj",  # Gemm
    "mid_block.attentions.0.transformer_blocks.0.attn1.to_k",
    "up_blocks.0.attentions.1.transformer_blocks.0.attn2.to_v",
]
TEXT_MODULES = [
    "text_model.encoder.layers.0.self_attn.q_proj",
    "text_model.encoder.layers.1.self_attn.v_proj",
    "text_model.encoder.layers.2.mlp.fc1",
    "text_model.encoder.layers.3.self_attn.out_proj",
]
# The tiny SDXL UNet: linear proj_in/proj_out, 1 and 2 transformer layers, the text_time add_embedding (Gemm).
SDXL_UNET_MODULES = [
    "down_blocks.1.attentions.0.transformer_blocks.1.attn1.to_q",
    "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k",
    "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_out.0",
    "down_blocks.1.attentions.0.proj_in",  # Linear (use_linear_projection)
    "down_blocks.0.resnets.0.conv1",  # Conv 3x3 (LoCon)
    "mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj",
    "up_blocks.0.attentions.1.transformer_blocks.1.attn2.to_v",
    "add_embedding.linear_1",
]
# SDXL uses each encoder's penultimate hidden states (layers 0-3 here) and the second one's pooled output (layer 4,
# final norm, text_projection): layers on both paths.
SDXL_TE1_MODULES = [
    "text_model.encoder.layers.0.self_attn.k_proj",
    "text_model.encoder.layers.2.mlp.fc2",
    "text_model.encoder.layers.3.self_attn.q_proj",
]
SDXL_TE2_MODULES = [
    "text_model.encoder.layers.0.self_attn.q_proj",
    "text_model.encoder.layers.1.mlp.fc1",
    "text_model.encoder.layers.2.self_attn.out_proj",
    "text_model.encoder.layers.3.self_attn.v_proj",
    "text_model.encoder.layers.4.mlp.fc2",
]
KOHYA_PREFIX = {"unet": "lora_unet_", "text_encoder": "lora_te1_", "text_encoder_2": "lora_te2_"}


def get_module(root: torch.nn.Module, path: str) -> torch.nn.Module:
    m = root
    for part in path.split("."):
        m = m[int(part)] if part.isdigit() else getattr(m, part)
    return m


def make_lora(components, rank: int, seed: int, bound: float, modules=None):
    """{(component, module path): (down, up)} with seeded uniform weights."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for comp, paths in modules or (("unet", UNET_MODULES), ("text_encoder", TEXT_MODULES)):
        for path in paths:
            w = get_module(components[comp], path).weight
            out_f, in_f = w.shape[0], w.shape[1]
            k = tuple(w.shape[2:])
            down = (torch.rand((rank, in_f) + k, generator=g) * 2 - 1) * bound
            up = (torch.rand((out_f, rank) + ((1, 1) if k else ()), generator=g) * 2 - 1) * bound
            out[(comp, path)] = (down, up)
    return out


def write_safetensors(path: Path, tensors) -> None:
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().contiguous().float().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def kohya_file(lora, alpha: float, prefixes=None):
    t = {}
    for (comp, path), (down, up) in lora.items():
        key = (prefixes[comp] if prefixes else "lora_unet_" if comp == "unet" else "lora_te_") + path.replace(".", "_")
        t[f"{key}.lora_down.weight"] = down
        t[f"{key}.lora_up.weight"] = up
        t[f"{key}.alpha"] = torch.tensor(alpha)
    return t


def peft_file(lora):
    t = {}
    for (comp, path), (down, up) in lora.items():
        t[f"{comp}.{path}.lora_A.weight"] = down
        t[f"{comp}.{path}.lora_B.weight"] = up
    return t


def fuse(components, lora, alpha, scale: float) -> None:
    """diffusers 0.27.2's _fuse_lora, by hand."""
    with torch.no_grad():
        for (comp, path), (down, up) in lora.items():
            layer = get_module(components[comp], path)
            w_orig = layer.weight.data.float()
            w_up, w_down = up.float(), down.float()
            if alpha is not None:
                w_up = w_up * alpha / down.shape[0]
            fusion = torch.mm(w_up.flatten(start_dim=1), w_down.flatten(start_dim=1)).reshape(w_orig.shape)
            layer.weight.data = (w_orig + scale * fusion).to(layer.weight.dtype)


def check_kohya_mapping(tensors, lora) -> None:
    """diffusers' own kohya conversion must send each text-encoder key to the module it was made for."""
    from diffusers.loaders.lora_conversion_utils import _convert_kohya_lora_to_diffusers

    converted, alphas = _convert_kohya_lora_to_diffusers({k: v.clone() for k, v in tensors.items()})
    found = set()
    for name in converted:
        m = re.match(r"^(text_encoder(?:_2)?)\.(.*?)\.(?:(?:to_([qkv])|to_(out))_lora|lora_linear_layer)\.(?:down|up)\.weight$", name)
        if not m:
            continue
        path = m.group(2)
        if m.group(3):
            path += f".{m.group(3)}_proj"
        elif m.group(4):
            path += ".out_proj"
        found.add((m.group(1), path))
    want = {(c, p) for (c, p) in lora if c != "unet"}
    assert found == want, f"kohya text-encoder keys map elsewhere in diffusers: {sorted(found ^ want)}"
    te2_alphas = [k for k in alphas if k.startswith("text_encoder_2.")]
    assert len(te2_alphas) == sum(1 for c, _ in lora if c == "text_encoder_2"), alphas
    print(f"kohya mapping checked against diffusers: {len(want)} text-encoder modules, {len(te2_alphas)} te2 alphas")


def main_sdxl() -> int:
    out = OUT_SDXL
    out.mkdir(parents=True, exist_ok=True)
    (out / "lora").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lora-parity-sdxl-") as tmp:
        work = Path(tmp)
        folder = work / "diffusers"
        paths = {"canny": mp.build_folder("sdxl", folder, work)["canny"]}
        components, controlnets, scheduler_config, index = mp.load_folder("sdxl", folder, paths)
        kohya_modules = (
            ("unet", SDXL_UNET_MODULES),
            ("text_encoder", SDXL_TE1_MODULES),
            ("text_encoder_2", SDXL_TE2_MODULES),
        )
        kohya = make_lora(components, rank=4, seed=4321, bound=0.5, modules=kohya_modules)
        # text_projection: a Linear PEFT targets by name; diffusers' kohya converter has no rule for it.
        peft = make_lora(components, rank=2, seed=8765, bound=0.8, modules=(("text_encoder_2", SDXL_TE2_MODULES + ["text_projection"]),))
        kohya_alpha = 2.0
        kohya_tensors = kohya_file(kohya, kohya_alpha, KOHYA_PREFIX)
        check_kohya_mapping(kohya_tensors, kohya)
        write_safetensors(out / "lora" / "sdxl_kohya.safetensors", kohya_tensors)
        write_safetensors(out / "lora" / "sdxl_te2_peft.safetensors", peft_file(peft))
        loras = {"sdxl_kohya": (kohya, kohya_alpha), "sdxl_te2_peft": (peft, None)}
        runs = [
            ("none", [], []),
            ("kohya", ["sdxl_kohya"], [1.0]),
            ("te2-peft", ["sdxl_te2_peft"], [0.7]),
        ]
        entries = []
        for name, ids, strengths in runs:
            print(f"lora sdxl: {name}", flush=True)
            components, controlnets, scheduler_config, index = mp.load_folder("sdxl", folder, paths)
            for lid, s in zip(ids, strengths):
                lora, alpha = loras[lid]
                fuse(components, lora, alpha, s)
            case = mp.Case(f"lora-{name}", seed=31)
            entry = mp.run_case("sdxl", case, components, controlnets, scheduler_config, index, out, "sdxl-tiny")
            if ids:
                entry["request"]["lora_model"] = ",".join(ids)
                entry["request"]["lora_strength"] = ",".join(f"{s:g}" for s in strengths)
            entries.append(entry)
    base = np.asarray(Image.open(out / "expected" / "lora-none-0.png")).astype(int)
    ref = np.asarray(Image.open(ROOT / "test" / "fixtures" / "parity" / "sdxl-tiny" / "expected" / "euler-0.png")).astype(int)
    print("no-LoRA image vs the parity fixture's euler image: max diff", int(np.abs(base - ref).max()))
    for name in ("kohya", "te2-peft"):
        img = np.asarray(Image.open(out / "expected" / f"lora-{name}-0.png")).astype(int)
        print(f"lora-{name} vs no LoRA: max diff", int(np.abs(img - base).max()))
    doc = {
        "model": "test/fixtures/parity/sdxl-tiny/models (model_id sdxl-tiny)",
        "lora_dir": "lora/",
        "fusion": "by hand, as diffusers 0.27.2's _fuse_lora (see make-lora-parity.py)",
        "tolerance": "each output pixel within 1/255 of expected/",
        "cases": entries,
    }
    (out / "cases.json").write_text(json.dumps(doc, indent=2) + "\n")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--family", choices=("sd", "sdxl"), default="sd")
    args = p.parse_args()
    torch.set_num_threads(2)
    if args.family == "sdxl":
        return main_sdxl()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "lora").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lora-parity-") as tmp:
        work = Path(tmp)
        folder = work / "diffusers"
        paths = mp.build_folder("sd", folder, work)
        components, controlnets, scheduler_config, index = mp.load_folder("sd", folder, paths)
        kohya = make_lora(components, rank=4, seed=1234, bound=0.5)
        peft = make_lora(components, rank=2, seed=5678, bound=0.6)
        kohya_alpha = 2.0
        write_safetensors(OUT / "lora" / "kohya_mix.safetensors", kohya_file(kohya, kohya_alpha))
        write_safetensors(OUT / "lora" / "peft_mix.safetensors", peft_file(peft))
        loras = {"kohya_mix": (kohya, kohya_alpha), "peft_mix": (peft, None)}
        runs = [
            ("none", [], []),
            ("kohya", ["kohya_mix"], [1.0]),
            ("peft", ["peft_mix"], [0.7]),
            ("two", ["kohya_mix", "peft_mix"], [0.8, 0.5]),
        ]
        entries = []
        for name, ids, strengths in runs:
            print(f"lora: {name}", flush=True)
            components, controlnets, scheduler_config, index = mp.load_folder("sd", folder, paths)
            for lid, s in zip(ids, strengths):
                lora, alpha = loras[lid]
                fuse(components, lora, alpha, s)
            case = mp.Case(f"lora-{name}", seed=11)
            entry = mp.run_case("sd", case, components, controlnets, scheduler_config, index, OUT, "sd-tiny")
            if ids:
                entry["request"]["lora_model"] = ",".join(ids)
                entry["request"]["lora_strength"] = ",".join(f"{s:g}" for s in strengths)
            entries.append(entry)
    base = np.asarray(Image.open(OUT / "expected" / "lora-none-0.png")).astype(int)
    ref = np.asarray(Image.open(ROOT / "test" / "fixtures" / "parity" / "sd-tiny" / "expected" / "euler-0.png")).astype(int)
    print("no-LoRA image vs the parity fixture's euler image: max diff", int(np.abs(base - ref).max()))
    doc = {
        "model": "test/fixtures/parity/sd-tiny/models (model_id sd-tiny)",
        "lora_dir": "lora/",
        "fusion": "by hand, as diffusers 0.27.2's _fuse_lora (see make-lora-parity.py)",
        "tolerance": "each output pixel within 1/255 of expected/",
        "cases": entries,
    }
    (OUT / "cases.json").write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Make the end-to-end parity fixtures: tiny random diffusers folders (SD 1.5-style, SD 2.x-style and SDXL-style), saved with
save_pretrained, exported by scripts/export_onnx.py, and diffusers 0.27.2's ControlNet pipelines' outputs for a
set of seeded requests in the server's contract.

    PYTHONPATH=/tmp/pyref/src /usr/bin/python3 scripts/reference/make-parity.py [--family sd|sd2|sdxl|all]

diffusers 0.27.2 and huggingface_hub 0.25.2 sources on PYTHONPATH (see test/fixtures/parity/README.md); the
transformers and safetensors stand-ins of scripts/reference/standins/ are put first on sys.path (and on the
export's PYTHONPATH). Writes test/fixtures/parity/<sd-tiny|sd2-tiny|sdxl-tiny>/{models/, inputs/, expected/, debug/,
cases.json}. Everything is seeded: a rerun gives the same files (same torch build).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[2]
STANDINS = ROOT / "scripts" / "reference" / "standins"
sys.path.insert(0, str(STANDINS))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

OUT = ROOT / "test" / "fixtures" / "parity"
TOKENIZER_SCRIPT = ROOT / "scripts" / "reference" / "write-tokenizer.ts"
EXPORT_SCRIPT = ROOT / "scripts" / "export_onnx.py"

# Stable Diffusion 1.5's scheduler_config.json (PNDM) and SDXL base 1.0's (Euler, leading spacing), as published.
SD15_SCHEDULER = {
    "_class_name": "PNDMScheduler",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
}
# Stable Diffusion 2.1's (768-v) scheduler_config.json, as published: DDIM predicting v.
SD2_SCHEDULER = {
    "_class_name": "DDIMScheduler",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "prediction_type": "v_prediction",
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
}
SDXL_SCHEDULER = {
    "_class_name": "EulerDiscreteScheduler",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "interpolation_type": "linear",
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "sample_max_value": 1.0,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "trained_betas": None,
    "use_karras_sigmas": False,
}
KARRAS_SCHEDULERS = {
    "EulerDiscreteScheduler",
    "DPMSolverMultistepScheduler",
    "DPMSolverSinglestepScheduler",
    "HeunDiscreteScheduler",
    "KDPM2DiscreteScheduler",
    "KDPM2AncestralDiscreteScheduler",
    "LMSDiscreteScheduler",
    "UniPCMultistepScheduler",
    "DEISMultistepScheduler",
}
NEGATIVE = "blurry, low quality, watermark"
LONG_PROMPT = ", ".join(
    ["a small red rocket standing on the grey moon under a black sky full of bright stars"] * 4
    + ["with a blue planet far away and soft light on the metal"]
)


# ------------------------------------------------------------------------------------------------- the models


def _randomize_zero_parameters(module: torch.nn.Module, seed: int) -> None:
    """ControlNet's zero convolutions would make every residual 0 and the comparison blind to the ControlNet."""
    gen = torch.Generator("cpu").manual_seed(seed)
    with torch.no_grad():
        for param in module.parameters():
            if not torch.any(param):
                param.copy_(torch.randn(param.shape, generator=gen) * 0.1)


def write_tokenizer(folder: Path, pad: Optional[str] = None) -> int:
    cmd = ["npx", "--no-install", "tsx", str(TOKENIZER_SCRIPT), str(folder)] + (["--pad", pad] if pad else [])
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return int(json.loads(out.strip().splitlines()[-1])["vocabSize"])


def text_config(vocab_size: int, family: str):
    from transformers import CLIPTextConfig

    # diffusers' tiny test text encoder (tests/pipelines/controlnet), with the tiny tokenizer's vocabulary;
    # OpenCLIP's gelu for SD 2.x and SDXL.
    extra = {"hidden_act": "gelu", "projection_dim": 32} if family == "sdxl" else {}
    if family == "sd2":
        extra = {"hidden_act": "gelu"}
    return CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=2,
        hidden_size=32,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=5,
        pad_token_id=1,
        vocab_size=vocab_size,
        **extra,
    )


def unet_kwargs(family: str) -> Dict[str, object]:
    """diffusers 0.27.2's own tiny ControlNet test topologies (tests/pipelines/controlnet/test_controlnet.py:
    widths (4, 8), one norm group; test_controlnet_sdxl.py: text_time conditioning, two text encoders, linear
    projections, 1 and 2 transformer layers), both at the SD test's widths (4, 8) so the exported graphs stay
    small. Two levels: 1 + 2 + 1 + 2 = 6 down-block residuals and the mid one. SD 2.x-style: SD 2.1's linear
    projections, per-block head dims and attention upcast, at the SD widths."""
    common = dict(
        block_out_channels=(4, 8),
        layers_per_block=2,
        in_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        norm_num_groups=1,
    )
    if family == "sd":
        return {**common, "cross_attention_dim": 32}
    if family == "sd2":
        return {
            **common,
            "cross_attention_dim": 32,
            "attention_head_dim": (2, 4),
            "use_linear_projection": True,
            "upcast_attention": True,
        }
    return {
        **common,
        "attention_head_dim": (2, 4),
        "use_linear_projection": True,
        "addition_embed_type": "text_time",
        "addition_time_embed_dim": 8,
        "transformer_layers_per_block": (1, 2),
        "projection_class_embeddings_input_dim": 80,  # 6 * 8 + 32
        "cross_attention_dim": 64,
    }


def build_folder(family: str, folder: Path, work: Path) -> Dict[str, Path]:
    """Seeded random modules -> pipeline.save_pretrained(folder) (+ a second ControlNet for SD)."""
    from diffusers import (
        AutoencoderKL,
        ControlNetModel,
        DDIMScheduler,
        EulerDiscreteScheduler,
        PNDMScheduler,
        StableDiffusionControlNetPipeline,
        StableDiffusionXLControlNetPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    sdxl = family == "sdxl"
    kwargs = unet_kwargs(family)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=32, out_channels=4, up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), **kwargs
    )
    controlnets = []
    # SD and SDXL get a second ControlNet ("depth") for the multi-ControlNet case.
    for k in range(2 if family in ("sd", "sdxl") else 1):
        torch.manual_seed(1 + k)
        cn = ControlNetModel(conditioning_embedding_out_channels=(16, 32), **kwargs)
        _randomize_zero_parameters(cn, 100 + k)
        controlnets.append(cn)
    torch.manual_seed(3)
    vae = AutoencoderKL(
        block_out_channels=[4, 8],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        latent_channels=4,
        norm_num_groups=2,
        **({"scaling_factor": 0.13025, "force_upcast": True} if sdxl else {}),
    )
    tok_dir = work / "tokenizer"
    # SD 2.x's tokenizer pads with "!" (OpenCLIP's convention), as SDXL's tokenizer_2 does.
    vocab = write_tokenizer(tok_dir, pad="!" if family == "sd2" else None)
    tokenizer = CLIPTokenizer.from_pretrained(str(tok_dir))
    torch.manual_seed(4)
    text_encoder = CLIPTextModel(text_config(vocab, family))
    if sdxl:
        tok2_dir = work / "tokenizer_2"
        write_tokenizer(tok2_dir, pad="!")
        tokenizer_2 = CLIPTokenizer.from_pretrained(str(tok2_dir))
        torch.manual_seed(5)
        text_encoder_2 = CLIPTextModelWithProjection(text_config(vocab, family))
        pipe = StableDiffusionXLControlNetPipeline(
            vae=vae,
            text_encoder=text_encoder,
            text_encoder_2=text_encoder_2,
            tokenizer=tokenizer,
            tokenizer_2=tokenizer_2,
            unet=unet,
            controlnet=controlnets[0],
            scheduler=EulerDiscreteScheduler.from_config(SDXL_SCHEDULER),
            force_zeros_for_empty_prompt=True,
        )
    else:
        pipe = StableDiffusionControlNetPipeline(
            vae=vae,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            unet=unet,
            controlnet=controlnets[0],
            scheduler=(
                DDIMScheduler.from_config(SD2_SCHEDULER) if family == "sd2" else PNDMScheduler.from_config(SD15_SCHEDULER)
            ),
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
    pipe.save_pretrained(str(folder))
    paths = {"canny": folder / "controlnet"}
    if len(controlnets) > 1:
        controlnets[1].save_pretrained(str(work / "controlnet-depth"))
        paths["depth"] = work / "controlnet-depth"
    return paths


def load_folder(family: str, folder: Path, controlnet_paths: Dict[str, Path]):
    """The components as a user's script would load them back from the saved folders."""
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel
    from diffusers.schedulers import KarrasDiffusionSchedulers  # noqa: F401  (import check)
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    components = dict(
        vae=AutoencoderKL.from_pretrained(str(folder), subfolder="vae"),
        text_encoder=CLIPTextModel.from_pretrained(str(folder), subfolder="text_encoder"),
        tokenizer=CLIPTokenizer.from_pretrained(str(folder), subfolder="tokenizer"),
        unet=UNet2DConditionModel.from_pretrained(str(folder), subfolder="unet"),
    )
    if family == "sdxl":
        components["text_encoder_2"] = CLIPTextModelWithProjection.from_pretrained(
            str(folder), subfolder="text_encoder_2"
        )
        components["tokenizer_2"] = CLIPTokenizer.from_pretrained(str(folder), subfolder="tokenizer_2")
    controlnets = {name: ControlNetModel.from_pretrained(str(path)) for name, path in controlnet_paths.items()}
    with open(folder / "scheduler" / "scheduler_config.json") as f:
        scheduler_config = json.load(f)
    with open(folder / "model_index.json") as f:
        index = json.load(f)
    return components, controlnets, scheduler_config, index


# -------------------------------------------------------------------------------------------------- the inputs


def hint_image(width: int, height: int, variant: int) -> Image.Image:
    """A canny-like hint: white outlines on black."""
    img = Image.new("RGB", (width, height), (0, 0, 0))
    draw = ImageDraw.Draw(img)
    if variant == 0:
        draw.ellipse((width * 0.2, height * 0.15, width * 0.8, height * 0.85), outline=(255, 255, 255), width=2)
        draw.line((0, height - 6, width, height * 0.55), fill=(255, 255, 255), width=1)
    else:
        draw.rectangle((width * 0.1, height * 0.3, width * 0.6, height * 0.9), outline=(255, 255, 255), width=2)
        draw.line((width * 0.5, 0, width * 0.9, height), fill=(255, 255, 255), width=1)
    return img


def init_image(width: int, height: int) -> Image.Image:
    """A smooth colour picture with some seeded texture (img2img / inpaint source)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rng = np.random.RandomState(7)
    r = 128 + 100 * np.sin(x / width * 3.1)
    g = 128 + 100 * np.cos(y / height * 2.3)
    b = 90 + 60 * np.sin((x + y) / (width + height) * 6.0)
    rgb = np.stack([r, g, b], -1) + rng.normal(0, 12, (height, width, 3))
    return Image.fromarray(np.clip(rgb, 0, 255).round().astype(np.uint8))


def mask_image(width: int, height: int) -> Image.Image:
    img = Image.new("RGB", (width, height), (0, 0, 0))
    ImageDraw.Draw(img).rectangle((width // 4, height // 4, width * 3 // 4 - 1, height * 3 // 4 - 1), fill=(255,) * 3)
    return img


# --------------------------------------------------------------------------------------------------- the cases


@dataclass
class Case:
    name: str
    scheduler: str = "EulerDiscreteScheduler"
    karras: bool = False
    algorithm_type: Optional[str] = None
    prompt: str = "a red rocket on the moon, photo"
    negative_prompt: Optional[str] = NEGATIVE
    width: int = 64
    height: int = 64
    samples: int = 1
    steps: int = 8
    guidance: float = 7.5
    seed: int = 1
    controlnets: List[str] = field(default_factory=lambda: ["canny"])
    scales: List[float] = field(default_factory=lambda: [1.0])
    guess_mode: bool = False
    mode: str = "txt2img"  # txt2img | img2img | inpaint
    strength: float = 1.0
    note: str = ""


def sd_cases() -> List[Case]:
    return [
        Case("euler", seed=11),
        Case("euler-a", "EulerAncestralDiscreteScheduler", seed=12),
        Case("dpmpp-2m-karras", "DPMSolverMultistepScheduler", karras=True, seed=13),
        Case("unipc-karras", "UniPCMultistepScheduler", karras=True, seed=14, note="the contract's defaults"),
        Case("ddim", "DDIMScheduler", seed=15),
        Case("multi-controlnet", seed=16, controlnets=["canny", "depth"], scales=[1.0, 0.6]),
        Case("guess-mode", seed=17, guess_mode=True),
        Case("scale-0.5", seed=18, scales=[0.5]),
        Case("non-square", seed=19, width=96, height=64),
        Case("samples-2", seed=20, samples=2),
        Case("long-prompt", seed=21, prompt=LONG_PROMPT),
        Case("null-negative", seed=22, negative_prompt=None, note="null negative prompt = \"\" for SD"),
        Case("img2img", seed=23, mode="img2img", strength=0.6),
        Case("inpaint", "DDIMScheduler", seed=24, mode="inpaint", strength=0.8),
    ]


def sd2_cases() -> List[Case]:
    """SD 2.x-style: v-prediction from the folder's scheduler config, under each scheduler family, "!" padding."""
    return [
        Case("ddim", "DDIMScheduler", seed=51, note="the folder's own scheduler (SD 2.1: DDIM, v_prediction)"),
        Case("euler", seed=52),
        Case("euler-a", "EulerAncestralDiscreteScheduler", seed=53),
        Case("dpmpp-2m-karras", "DPMSolverMultistepScheduler", karras=True, seed=54),
        Case("unipc-karras", "UniPCMultistepScheduler", karras=True, seed=55, note="the contract's defaults"),
        Case("guess-mode", seed=56, guess_mode=True),
        Case("null-negative", seed=57, negative_prompt=None, note="null negative prompt = \"\" (padded with \"!\")"),
        Case("img2img", seed=58, mode="img2img", strength=0.6),
        Case("inpaint", "DDIMScheduler", seed=59, mode="inpaint", strength=0.8),
    ]


def sdxl_cases() -> List[Case]:
    return [
        Case("euler", seed=31),
        Case("euler-a", "EulerAncestralDiscreteScheduler", seed=32),
        Case("dpmpp-2m-karras", "DPMSolverMultistepScheduler", karras=True, seed=33),
        Case("guess-mode", seed=34, guess_mode=True),
        Case("scale-0.5", seed=35, scales=[0.5]),
        Case("non-square", seed=36, width=96, height=64),
        Case("samples-2", seed=37, samples=2),
        Case(
            "null-negative",
            seed=38,
            negative_prompt=None,
            note="force_zeros_for_empty_prompt: a null negative prompt gives zero embeddings (and zero text_embeds)",
        ),
        Case("empty-negative", seed=39, negative_prompt="", note="an explicit \"\" is encoded, not zeroed"),
        Case("img2img", seed=40, mode="img2img", strength=0.6),
        Case("inpaint", seed=41, mode="inpaint", strength=0.8),
        Case("multi-controlnet", seed=42, controlnets=["canny", "depth"], scales=[1.0, 0.6]),
    ]


def make_scheduler(case: Case, base_config: Dict[str, object]):
    import diffusers

    cls = getattr(diffusers, case.scheduler)
    overrides: Dict[str, object] = {}
    if case.scheduler in KARRAS_SCHEDULERS:
        overrides["use_karras_sigmas"] = case.karras
    if case.algorithm_type is not None:
        overrides["algorithm_type"] = case.algorithm_type
    return cls.from_config(base_config, **overrides), overrides


def request_body(case: Case, model_id: str, images: Dict[str, str]) -> Dict[str, object]:
    """The contract request that means what the diffusers call below runs (image fields: files of this folder)."""
    body: Dict[str, object] = {
        "key": None,
        "model_id": model_id,
        "controlnet_model": ",".join(case.controlnets),
        "controlnet_type": ",".join(case.controlnets),
        "auto_hint": "no",
        "guess_mode": "yes" if case.guess_mode else "no",
        "prompt": case.prompt,
        "negative_prompt": case.negative_prompt,
        "width": str(case.width),
        "height": str(case.height),
        "samples": str(case.samples),
        "num_inference_steps": str(case.steps),
        "guidance_scale": case.guidance,
        "scheduler": case.scheduler,
        "use_karras_sigmas": "yes" if case.karras else "no",
        "controlnet_conditioning_scale": ",".join(f"{s:g}" for s in case.scales),
        "seed": case.seed,
        "base64": "no",
    }
    if case.algorithm_type is not None:
        body["algorithm_type"] = case.algorithm_type
    if len(case.controlnets) > 1:
        body["control_images"] = [images[f"hint{k}"] for k in range(len(case.controlnets))]
    else:
        body["control_image"] = images["hint0"]
    if case.mode in ("img2img", "inpaint"):
        body["init_image"] = images["init"]
        body["strength"] = case.strength
    if case.mode == "inpaint":
        body["mask_image"] = images["mask"]
    return body


def save_png(array: np.ndarray, path: Path) -> None:
    # diffusers' numpy_to_pil: round(x * 255) as uint8.
    Image.fromarray((array * 255).round().astype(np.uint8)).save(path, optimize=True)


def run_case(family: str, case: Case, components, controlnets, scheduler_config, index, out: Path, model_id: str):
    import diffusers

    sdxl = family == "sdxl"
    prefix = "StableDiffusionXLControlNet" if sdxl else "StableDiffusionControlNet"
    suffix = {"txt2img": "Pipeline", "img2img": "Img2ImgPipeline", "inpaint": "InpaintPipeline"}[case.mode]
    cls = getattr(diffusers, prefix + suffix)
    scheduler, overrides = make_scheduler(case, scheduler_config)
    nets = [controlnets[name] for name in case.controlnets]
    extra = {} if sdxl else {"safety_checker": None, "feature_extractor": None, "requires_safety_checker": False}
    if sdxl:
        extra["force_zeros_for_empty_prompt"] = bool(index.get("force_zeros_for_empty_prompt", True))
    pipe = cls(**components, controlnet=nets if len(nets) > 1 else nets[0], scheduler=scheduler, **extra)
    pipe.set_progress_bar_config(disable=True)

    inputs = out / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    w, h = case.width, case.height
    images = {f"hint{k}": f"inputs/hint{k}-{w}x{h}.png" for k in range(len(nets))}
    images.update(init=f"inputs/init-{w}x{h}.png", mask=f"inputs/mask-{w}x{h}.png")
    hints = [hint_image(w, h, k) for k in range(len(nets))]
    for k, img in enumerate(hints):
        img.save(out / images[f"hint{k}"])
    kwargs: Dict[str, object] = dict(
        prompt=case.prompt,
        negative_prompt=case.negative_prompt,
        width=w,
        height=h,
        num_images_per_prompt=case.samples,
        num_inference_steps=case.steps,
        guidance_scale=case.guidance,
        controlnet_conditioning_scale=case.scales if len(nets) > 1 else case.scales[0],
        guess_mode=case.guess_mode,
        generator=torch.Generator("cpu").manual_seed(case.seed),
        output_type="np",
    )
    hint_arg = hints if len(nets) > 1 else hints[0]
    if case.mode == "txt2img":
        kwargs["image"] = hint_arg
    else:
        init = init_image(w, h)
        init.save(out / images["init"])
        kwargs.update(image=init, control_image=hint_arg, strength=case.strength)
        if case.mode == "inpaint":
            mask = mask_image(w, h)
            mask.save(out / images["mask"])
            kwargs["mask_image"] = mask

    # Debug arrays: the text embeddings (negative first, as CFG batches them) and the first UNet output.
    first: Dict[str, torch.Tensor] = {}

    def hook(_module, _args, output):
        if "noise_pred" not in first:
            first["noise_pred"] = (output[0] if isinstance(output, (tuple, list)) else output.sample).detach()

    handle = pipe.unet.register_forward_hook(hook)
    with torch.no_grad():
        result = pipe(**kwargs).images
    handle.remove()
    debug = out / "debug"
    debug.mkdir(exist_ok=True)
    with torch.no_grad():
        embeds = pipe.encode_prompt(
            case.prompt, device=torch.device("cpu"), num_images_per_prompt=1, do_classifier_free_guidance=True,
            negative_prompt=case.negative_prompt,
        ) if sdxl else pipe.encode_prompt(case.prompt, torch.device("cpu"), 1, True, case.negative_prompt)
    debug_files = {}
    names = ["prompt_embeds", "negative_prompt_embeds", "pooled_prompt_embeds", "negative_pooled_prompt_embeds"]
    for name, tensor in zip(names, embeds):
        path = f"debug/{case.name}.{name}.npy"
        np.save(out / path, tensor.float().numpy().astype(np.float32))
        debug_files[name] = path
    # The ids each tokenizer gives (what the server's CLIP tokenizer must give too).
    token_ids = {}
    truncated: Dict[str, str] = {}
    for key in ("tokenizer", "tokenizer_2"):
        tokenizer = getattr(pipe, key, None)
        if tokenizer is None:
            continue
        for label, text in (("prompt", case.prompt), ("negative_prompt", case.negative_prompt or "")):
            enc = tokenizer(text, padding="max_length", max_length=tokenizer.model_max_length, truncation=True)
            token_ids[f"{key}.{label}"] = enc.input_ids
            # What diffusers' truncation warning names (the server's `warnings` say the same).
            full = tokenizer(text, padding="longest").input_ids
            if len(full) > tokenizer.model_max_length:
                truncated[f"{key}.{label}"] = tokenizer.decode(full[tokenizer.model_max_length - 1 : -1])
    path = f"debug/{case.name}.first_noise_pred.npy"
    np.save(out / path, first["noise_pred"].float().numpy().astype(np.float32))
    debug_files["first_noise_pred"] = path

    expected = []
    (out / "expected").mkdir(exist_ok=True)
    for i, image in enumerate(result):
        rel = f"expected/{case.name}-{i}.png"
        save_png(image, out / rel)
        expected.append(rel)
    diffusers_call = {
        "pipeline": cls.__name__,
        "scheduler": f"{case.scheduler}.from_config(scheduler_config, **{json.dumps(overrides)})",
        "generator": f'torch.Generator("cpu").manual_seed({case.seed})',
        **{k: v for k, v in kwargs.items() if k in ("prompt", "negative_prompt", "width", "height",
                                                     "num_images_per_prompt", "num_inference_steps",
                                                     "guidance_scale", "controlnet_conditioning_scale",
                                                     "guess_mode", "strength")},
        "images": {k: v for k, v in images.items() if (out / v).exists() and (k.startswith("hint") or case.mode != "txt2img")},
        "output_type": "np, written as round(x * 255)",
    }
    # The scheduler's schedule for num_inference_steps (img2img / inpaint run its last int(steps * strength)).
    diffusers_call["timesteps"] = [float(t) for t in pipe.scheduler.timesteps]
    if sdxl:
        diffusers_call["time_ids"] = [h, w, 0, 0, h, w]
    entry = {
        "name": case.name,
        "request": request_body(case, model_id, images),
        "diffusers": diffusers_call,
        "expected": expected,
        "debug": debug_files,
        "token_ids": token_ids,
    }
    if truncated:
        entry["truncated"] = truncated
    if case.note:
        entry["note"] = case.note
    return entry


# -------------------------------------------------------------------------------------------------- main


def export(folder: Path, controlnet_paths: Dict[str, Path], models: Path, model_id: str, sdxl: bool) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(STANDINS)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    cmd = [sys.executable, str(EXPORT_SCRIPT), "--model", str(folder), "--model-id", model_id, "--out", str(models)]
    cmd += ["--device", "cpu", "--no-validate"]
    for name, path in controlnet_paths.items():
        cmd += ["--controlnet", f"{name}={path}"]
    if sdxl:
        cmd += ["--controlnet-dir", "model"]
    subprocess.run(cmd, check=True, env=env)


def make_family(family: str, out_root: Path) -> None:
    import diffusers

    model_id = f"{family}-tiny"
    out = out_root / model_id
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix=f"parity-{family}-") as tmp:
        work = Path(tmp)
        folder = work / "diffusers"
        controlnet_paths = build_folder(family, folder, work)
        export(folder, controlnet_paths, out / "models", model_id, family == "sdxl")
        components, controlnets, scheduler_config, index = load_folder(family, folder, controlnet_paths)
        cases = {"sd": sd_cases, "sd2": sd2_cases, "sdxl": sdxl_cases}[family]()
        entries = []
        for case in cases:
            print(f"{family}: {case.name}", flush=True)
            entries.append(run_case(family, case, components, controlnets, scheduler_config, index, out, model_id))
    doc = {
        "family": family,
        "model_id": model_id,
        "models": "models/",
        "tolerance": "each output pixel within 1/255 of expected/",
        "versions": {
            "diffusers": diffusers.__version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "transformers": "stand-in (scripts/reference/standins, transformers 4.38 names)",
            "safetensors": "stand-in (scripts/reference/standins)",
        },
        "images": "request image fields name files of this folder; send them as data: URIs",
        "cases": entries,
    }
    (out / "cases.json").write_text(json.dumps(doc, indent=2) + "\n")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--family", choices=("sd", "sd2", "sdxl", "all"), default="all")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    for family in ("sd", "sd2", "sdxl") if args.family == "all" else (args.family,):
        make_family(family, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

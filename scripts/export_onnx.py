#!/usr/bin/env python3
"""Export a Stable Diffusion 1.x or SDXL model and ControlNets (diffusers) to the ONNX model folders the server
loads (see README.md, "Models").

Requirements (pip install -r scripts/requirements-export.txt):
    torch >= 1.13 (a CUDA build for --fp16), diffusers 0.27.2, huggingface_hub 0.25.2 (diffusers 0.27 imports
    `cached_download`, gone in 0.26), transformers >= 4.36 (CLIP), onnx >= 1.12, onnxruntime-gpu or onnxruntime
    >= 1.17 (validation), safetensors, accelerate.
    Tested with torch 1.13.1 (CPU), diffusers 0.27.2, huggingface_hub 0.25.2, onnx 1.12.0 on tiny random modules,
    the graphs run with onnxruntime-node 1.30. Written against transformers 4.31 - 4.44's CLIP names
    (CLIPTextModel, CLIPTextModelWithProjection: text_model.*, text_projection, outputs last_hidden_state,
    pooler_output / text_embeds, hidden_states); run here with the stand-in of scripts/reference/standins/ that
    follows them, not with transformers itself. Not run where this was written: python onnxruntime, CUDA, --fp16.

Usage:
    python scripts/export_onnx.py --model stable-diffusion-v1-5/stable-diffusion-v1-5 \\
        --controlnet canny --controlnet depth --out models --fp16 --device cuda
    python scripts/export_onnx.py --checkpoint v1-5-pruned-emaonly.safetensors --model-id sd15 --out models
    python scripts/export_onnx.py --controlnet face=CrucibleAI/ControlNetMediaPipeFace/diffusion_sd15 --out models
    python scripts/export_onnx.py --tiny-random --out /tmp/tiny     # self-test on small random modules
    python scripts/export_onnx.py --model stabilityai/stable-diffusion-xl-base-1.0 --model-id sdxl \
        --controlnet canny-sdxl=diffusers/controlnet-canny-sdxl-1.0 --controlnet-dir model --out models

Writes:
    <out>/<model_id>/tokenizer/{vocab.json,merges.txt,special_tokens_map.json,tokenizer_config.json}
    <out>/<model_id>/text_encoder/model.onnx  input_ids int32 [b,77] -> last_hidden_state, pooler_output,
                                              hidden_states.0 .. hidden_states.N (N = layers; before final_layer_norm)
    <out>/<model_id>/unet/model.onnx          sample, timestep f32 [b], encoder_hidden_states,
                                              down_block_res_0 .. down_block_res_11, mid_block_res -> out_sample
                                              (as many residuals as the config's blocks give: 12 + 1 for SD 1.x)
SDXL (a UNet with addition_embed_type "text_time"; optimum's folder and I/O names):
    <out>/<model_id>/text_encoder/            CLIPTextModel, as above (SDXL uses hidden_states.<N-1>)
    <out>/<model_id>/text_encoder_2/model.onnx input_ids -> text_embeds (projected pooled), last_hidden_state,
                                              hidden_states.0 .. N, normed_hidden_states.0 .. N
    <out>/<model_id>/tokenizer_2/             the second tokenizer (pads with "!")
    <out>/<model_id>/unet/model.onnx          sample, timestep, encoder_hidden_states, text_embeds [b,1280],
                                              time_ids [b,6], down_block_res_0 .. 8, mid_block_res -> out_sample
    controlnet/<name>/model.onnx              the SD inputs, then text_embeds, time_ids (after conditioning_scale)
    model_index.json                          force_zeros_for_empty_prompt from the source's model_index.json
    --controlnet-dir model writes ControlNets to <out>/<model_id>/controlnet/<name> (only for that model).
    <out>/<model_id>/vae_decoder/model.onnx   latent_sample -> sample            (+ config.json: scaling_factor)
    <out>/<model_id>/vae_encoder/model.onnx   sample -> latent_parameters [b,8,h,w] (mean, logvar; not clamped)
    <out>/<model_id>/scheduler/scheduler_config.json, <out>/<model_id>/model_index.json
    <out>/controlnet/<name>/model.onnx        sample, timestep, encoder_hidden_states, controlnet_cond [b,3,8h,8w],
                                              conditioning_scale f32 scalar -> down_block_res_0 .. 11, mid_block_res
    <out>/controlnet/<name>/config.json       diffusers config (global_pool_conditions, channel order)
Safety checker (--safety-checker [SOURCE]; default CompVis/stable-diffusion-safety-checker, or a diffusers
folder's safety_checker/):
    <out>/safety_checker/model.onnx           clip_input f32 [b,3,224,224] (CLIPImageProcessor's pixels) ->
                                              image_embeds [b,P] (CLIP vision pooled output, then visual_projection)
    <out>/safety_checker/concepts.json        concept_embeds [17,P], concept_embeds_weights [17], special_care_embeds
                                              [3,P], special_care_embeds_weights [3]: the server applies diffusers'
                                              StableDiffusionSafetyChecker rule to them (src/safety/rule.ts)
    --safety-checker-dir model writes <out>/<model_id>/safety_checker/ instead. Always float32.
Batch, latent height/width and the text length of encoder_hidden_states are dynamic. Graphs whose weights pass
2 GB keep them in one `model.onnx_data` file next to `model.onnx`.

--fp16 exports the UNet, ControlNets and text encoder in float16 (timestep and conditioning_scale stay float32
inputs, cast inside the graph). The VAE stays float32: its decoder activations can pass float16's range (NaN or
black images: the reason for A1111's --no-half-vae and diffusers' force_upcast), and it runs once per image.
"""
from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

# Contract ControlNet names -> Hugging Face ids (diffusers format). "owner/repo/subfolder" names a subfolder.
# v11p = production, v11e = experimental, v11f1 = first fix of a 1.1 model (depth: v11f1p, tile: v11f1e).
CONTROLNET_HF_IDS: Dict[str, str] = {
    "canny": "lllyasviel/control_v11p_sd15_canny",
    "depth": "lllyasviel/control_v11f1p_sd15_depth",
    "mlsd": "lllyasviel/control_v11p_sd15_mlsd",
    "normal": "lllyasviel/control_v11p_sd15_normalbae",
    "openpose": "lllyasviel/control_v11p_sd15_openpose",
    "scribble": "lllyasviel/control_v11p_sd15_scribble",
    "segmentation": "lllyasviel/control_v11p_sd15_seg",
    "inpaint": "lllyasviel/control_v11p_sd15_inpaint",
    "softedge": "lllyasviel/control_v11p_sd15_softedge",
    "lineart": "lllyasviel/control_v11p_sd15_lineart",
    "shuffle": "lllyasviel/control_v11e_sd15_shuffle",
    "tile": "lllyasviel/control_v11f1e_sd15_tile",
    # MediaPipe face mesh ControlNet; its SD 1.5 weights live in a subfolder (the repo root holds the SD 2.1 one).
    "face_detector": "CrucibleAI/ControlNetMediaPipeFace/diffusion_sd15",
    # ControlNet 1.1 folded HED into Soft Edge (trained on HED and PiDiNet edges); the 1.0 model is
    # lllyasviel/sd-controlnet-hed (pass `--controlnet hed=lllyasviel/sd-controlnet-hed` to use it).
    "hed": "lllyasviel/control_v11p_sd15_softedge",
}

# Stable Diffusion 1.5's own scheduler_config.json: written for --checkpoint and --tiny-random, whose sources carry
# none. It has no timestep_spacing, so each scheduler keeps its own default, as diffusers' from_config does.
SD15_SCHEDULER_CONFIG: Dict[str, object] = {
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

TEXT_LENGTH = 77
# Protobuf cannot serialise a message over 2 GiB; stay clear of it (the graph itself adds a few MB).
EXTERNAL_DATA_LIMIT = 2**31 - 2**27
EXTERNAL_DATA_FILE = "model.onnx_data"
# Traced with batch 2 (CFG) and latent sides that are not multiples of 8: diffusers' UNet then passes explicit
# upsample sizes, so the graph serves every latent size, not only multiples of 8 (images of 64).
TRACE_SHAPE = (2, 36, 44)
VALIDATE_SHAPE = (1, 40, 48)


# ----------------------------------------------------------------------------------------------- graph wrappers


class UNetWithResiduals(torch.nn.Module):
    """diffusers UNet with the ControlNet residuals as separate inputs: the down-block residuals (12 for SD 1.x,
    9 for SDXL: as many as the config has), then the mid one. SDXL UNets (addition_embed_type "text_time") take
    text_embeds and time_ids first (optimum's input names), passed as added_cond_kwargs."""

    def __init__(self, unet: torch.nn.Module):
        super().__init__()
        self.unet = unet
        self.text_time = is_text_time(unet.config)

    def forward(self, sample, timestep, encoder_hidden_states, *inputs):
        added = None
        if self.text_time:
            added = {"text_embeds": inputs[0], "time_ids": inputs[1]}
            inputs = inputs[2:]
        return self.unet(
            sample,
            timestep,
            encoder_hidden_states,
            added_cond_kwargs=added,
            down_block_additional_residuals=tuple(inputs[:-1]),
            mid_block_additional_residual=inputs[-1],
            return_dict=False,
        )[0]


class ControlNetWithScale(torch.nn.Module):
    """diffusers ControlNet whose residuals are multiplied by a conditioning_scale input (guess mode: the server).
    SDXL ControlNets take text_embeds and time_ids after conditioning_scale."""

    def __init__(self, controlnet: torch.nn.Module):
        super().__init__()
        self.controlnet = controlnet
        self.text_time = is_text_time(controlnet.config)

    def forward(self, sample, timestep, encoder_hidden_states, controlnet_cond, conditioning_scale, *added):
        # diffusers multiplies every residual by conditioning_scale (before global pooling, which is linear), so
        # passing the input through gives one Mul per output, the same graph as multiplying here.
        down, mid = self.controlnet(
            sample,
            timestep,
            encoder_hidden_states,
            controlnet_cond,
            conditioning_scale=conditioning_scale.to(sample.dtype),
            added_cond_kwargs={"text_embeds": added[0], "time_ids": added[1]} if self.text_time else None,
            guess_mode=False,
            return_dict=False,
        )
        return (*down, mid)


class VaeDecoder(torch.nn.Module):
    """latent_sample (already divided by scaling_factor) -> image in [-1, 1]."""

    def __init__(self, vae: torch.nn.Module):
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample):
        post_quant_conv = getattr(self.vae, "post_quant_conv", None)
        if post_quant_conv is not None:
            latent_sample = post_quant_conv(latent_sample)
        return self.vae.decoder(latent_sample)


class VaeEncoderParameters(torch.nn.Module):
    """image in [-1, 1] -> posterior parameters [b, 2*latent_channels, h, w]: mean, then logvar (diffusers clamps
    logvar to [-30, 20] before use; the graph does not)."""

    def __init__(self, vae: torch.nn.Module):
        super().__init__()
        self.vae = vae

    def forward(self, sample):
        h = self.vae.encoder(sample)
        quant_conv = getattr(self.vae, "quant_conv", None)
        return quant_conv(h) if quant_conv is not None else h


class TextEncoderWithHiddenStates(torch.nn.Module):
    """transformers CLIPTextModel -> last_hidden_state, pooler_output, hidden_states.0 .. hidden_states.N,
    normed_hidden_states.0 .. normed_hidden_states.N; CLIPTextModelWithProjection (SDXL's text_encoder_2) ->
    text_embeds, last_hidden_state, then the same hidden states (optimum's output names).

    hidden_states.0 is the embedding output and hidden_states.N (N = num_hidden_layers) the last layer's output
    before final_layer_norm; last_hidden_state = final_layer_norm(hidden_states.N). clip_skip k in diffusers uses
    final_layer_norm(hidden_states[-(k + 1)]): normed_hidden_states.i = final_layer_norm(hidden_states.i) are what
    the server feeds the UNet for clip_skip (the contract's clip_skip c picks normed_hidden_states.(N + 1 - c)).
    SDXL uses hidden_states.(N - 1) of both encoders (diffusers' hidden_states[-2], not normed)."""

    def __init__(self, text_encoder: torch.nn.Module):
        super().__init__()
        self.text_encoder = text_encoder
        self.projection = has_text_projection(text_encoder)

    def forward(self, input_ids):
        out = self.text_encoder(input_ids=input_ids, output_hidden_states=True, return_dict=True)
        norm = self.text_encoder.text_model.final_layer_norm
        normed = (norm(h) for h in out.hidden_states)
        if self.projection:
            return (out.text_embeds, out.last_hidden_state, *out.hidden_states, *normed)
        return (out.last_hidden_state, out.pooler_output, *out.hidden_states, *normed)


def is_text_time(config) -> bool:
    """SDXL's UNet / ControlNet: pooled text embeddings and the six size/crop numbers as added conditioning."""
    return _config_get(config, "addition_embed_type") == "text_time"


def has_text_projection(text_encoder: torch.nn.Module) -> bool:
    """CLIPTextModelWithProjection (SDXL's second text encoder): text_embeds instead of pooler_output."""
    return isinstance(getattr(text_encoder, "text_projection", None), torch.nn.Module)


def added_condition_sizes(config) -> Tuple[int, int]:
    """(text_embeds width, time_ids width) of a text_time config: time_ids holds original size, crop top-left and
    target size (6 numbers); the projection's input is the pooled width plus 6 sinusoidal embeddings of them."""
    time_dim = _config_get(config, "addition_time_embed_dim")
    total = _config_get(config, "projection_class_embeddings_input_dim")
    return total - 6 * time_dim, 6


# ------------------------------------------------------------------------------------------------- components

# make_inputs(batch, latent_height, latent_width, seed) -> the graph's inputs, in input_names order.
InputMaker = Callable[[int, int, int, int], Tuple[torch.Tensor, ...]]


@dataclass
class Component:
    """One graph to export: the wrapper module, its I/O names, dynamic axes and an input generator."""

    name: str
    module: torch.nn.Module
    input_names: List[str]
    output_names: List[str]
    dynamic_axes: Dict[str, Dict[int, str]]
    make_inputs: InputMaker


def _config_get(config, key, default=None):
    return config.get(key, default) if isinstance(config, dict) else getattr(config, key, default)


def _axis(name: str, level: int) -> str:
    return name if level == 0 else f"{name}_div{2**level}"


def down_residual_layout(config) -> List[Tuple[int, int]]:
    """(channels, level) of each down-block residual of a UNet/ControlNet config; level k is 2^k times smaller
    than the latent. SD 1.x: conv_in, then per block its resnets and (except the last) its downsampler: 12."""
    channels = list(_config_get(config, "block_out_channels"))
    per_block = _config_get(config, "layers_per_block")
    layout = [(channels[0], 0)]
    for i, ch in enumerate(channels):
        count = per_block[i] if isinstance(per_block, (list, tuple)) else per_block
        layout += [(ch, i)] * count
        if i < len(channels) - 1:
            layout.append((ch, i + 1))
    return layout


def _side(size: int, level: int) -> int:
    # Each downsampler is a stride-2 conv with padding 1: ceil(size / 2).
    for _ in range(level):
        size = (size + 1) // 2
    return size


def residual_shapes(config, batch: int, height: int, width: int) -> List[Tuple[int, ...]]:
    """Shapes of down_block_res_0 .. N-1 then mid_block_res for a latent of height x width."""
    layout = down_residual_layout(config)
    mid_level = len(_config_get(config, "block_out_channels")) - 1
    shapes = [(batch, ch, _side(height, lvl), _side(width, lvl)) for ch, lvl in layout]
    shapes.append((batch, layout[-1][0], _side(height, mid_level), _side(width, mid_level)))
    return shapes


def residual_names(config) -> List[str]:
    return [f"down_block_res_{i}" for i in range(len(down_residual_layout(config)))] + ["mid_block_res"]


def residual_axes(config, pooled: bool = False) -> Dict[str, Dict[int, str]]:
    layout = down_residual_layout(config)
    levels = [lvl for _, lvl in layout] + [len(_config_get(config, "block_out_channels")) - 1]
    axes = {}
    for name, lvl in zip(residual_names(config), levels):
        # Globally pooled ControlNets (shuffle) return [b, C, 1, 1] residuals: only the batch is dynamic.
        axes[name] = {0: "batch"} if pooled else {0: "batch", 2: _axis("height", lvl), 3: _axis("width", lvl)}
    return axes


def _generator(seed: int) -> torch.Generator:
    return torch.Generator("cpu").manual_seed(seed)


def _randn(shape, gen, device, dtype, scale: float = 1.0) -> torch.Tensor:
    return (torch.randn(shape, generator=gen) * scale).to(device=device, dtype=dtype)


def _timesteps(batch: int, gen, device) -> torch.Tensor:
    # Fractional timesteps, as Karras/Euler schedules produce; the same value for the CFG pair.
    t = torch.rand((1,), generator=gen) * 999.0
    return t.expand(batch).contiguous().to(device=device, dtype=torch.float32)


def _module_device_dtype(module: torch.nn.Module) -> Tuple[torch.device, torch.dtype]:
    param = next(module.parameters())
    return param.device, param.dtype


def _added_inputs(config, batch: int, gen, device, dtype) -> Tuple[torch.Tensor, ...]:
    """text_embeds and time_ids for a text_time (SDXL) config; nothing otherwise."""
    if not is_text_time(config):
        return ()
    pooled, time_count = added_condition_sizes(config)
    text_embeds = _randn((batch, pooled), gen, device, dtype)
    # original size, crop top-left, target size, in pixels, as diffusers' _get_add_time_ids builds them.
    sizes = torch.tensor([1024.0, 1024.0, 0.0, 0.0, 1024.0, 1024.0]) * (0.5 + torch.rand((time_count,), generator=gen))
    return text_embeds, sizes.expand(batch, time_count).contiguous().to(device=device, dtype=dtype)


def _added_names(config) -> List[str]:
    return ["text_embeds", "time_ids"] if is_text_time(config) else []


def _added_axes(config) -> Dict[str, Dict[int, str]]:
    return {name: {0: "batch"} for name in _added_names(config)}


def check_residual_count(module: torch.nn.Module, config) -> None:
    """The residual layout derived from the config must match the module's own down-block outputs."""
    expected = len(down_residual_layout(config))
    zero_convs = getattr(module, "controlnet_down_blocks", None)
    if zero_convs is not None:
        found = len(zero_convs)
    else:
        found = 1 + sum(
            len(block.resnets) + len(getattr(block, "downsamplers", None) or []) for block in module.down_blocks
        )
    if found != expected:
        raise SystemExit(f"error: {type(module).__name__} has {found} down-block residuals, its config says {expected}")


def unet_component(unet: torch.nn.Module) -> Component:
    config = unet.config
    device, dtype = _module_device_dtype(unet)
    text_dim = _config_get(config, "cross_attention_dim")
    in_channels = _config_get(config, "in_channels")
    check_residual_count(unet, config)
    names = residual_names(config)

    def make_inputs(batch: int, height: int, width: int, seed: int):
        gen = _generator(seed)
        sample = _randn((batch, in_channels, height, width), gen, device, dtype)
        timestep = _timesteps(batch, gen, device)
        text = _randn((batch, TEXT_LENGTH, text_dim), gen, device, dtype)
        added = _added_inputs(config, batch, gen, device, dtype)
        residuals = [_randn(s, gen, device, dtype, 0.5) for s in residual_shapes(config, batch, height, width)]
        return (sample, timestep, text, *added, *residuals)

    axes = {
        "sample": {0: "batch", 2: "height", 3: "width"},
        "timestep": {0: "batch"},
        "encoder_hidden_states": {0: "batch", 1: "sequence"},
        **_added_axes(config),
        **residual_axes(config),
        "out_sample": {0: "batch", 2: "height", 3: "width"},
    }
    return Component(
        name="unet",
        module=UNetWithResiduals(unet).eval(),
        input_names=["sample", "timestep", "encoder_hidden_states", *_added_names(config), *names],
        output_names=["out_sample"],
        dynamic_axes=axes,
        make_inputs=make_inputs,
    )


def controlnet_component(controlnet: torch.nn.Module, name: str) -> Component:
    config = controlnet.config
    device, dtype = _module_device_dtype(controlnet)
    text_dim = _config_get(config, "cross_attention_dim")
    in_channels = _config_get(config, "in_channels")
    cond_channels = _config_get(config, "conditioning_channels", 3)
    pooled = bool(_config_get(config, "global_pool_conditions", False))
    check_residual_count(controlnet, config)
    outputs = residual_names(config)
    # The conditioning image is 8x the latent: the embedding's three stride-2 convs, whatever the VAE's factor.
    cond_factor = 2 ** (len(_config_get(config, "conditioning_embedding_out_channels", (16, 32, 96, 256))) - 1)

    def make_inputs(batch: int, height: int, width: int, seed: int):
        gen = _generator(seed)
        sample = _randn((batch, in_channels, height, width), gen, device, dtype)
        timestep = _timesteps(batch, gen, device)
        text = _randn((batch, TEXT_LENGTH, text_dim), gen, device, dtype)
        shape = (batch, cond_channels, cond_factor * height, cond_factor * width)
        cond = torch.rand(shape, generator=gen).to(device, dtype)
        scale = torch.tensor(0.75, dtype=torch.float32, device=device)
        return (sample, timestep, text, cond, scale, *_added_inputs(config, batch, gen, device, dtype))

    axes = {
        "sample": {0: "batch", 2: "height", 3: "width"},
        "timestep": {0: "batch"},
        "encoder_hidden_states": {0: "batch", 1: "sequence"},
        "controlnet_cond": {0: "batch", 2: "image_height", 3: "image_width"},
        **_added_axes(config),
        **residual_axes(config, pooled),
    }
    return Component(
        name=f"controlnet/{name}",
        module=ControlNetWithScale(controlnet).eval(),
        input_names=[
            "sample",
            "timestep",
            "encoder_hidden_states",
            "controlnet_cond",
            "conditioning_scale",
            *_added_names(config),
        ],
        output_names=outputs,
        dynamic_axes=axes,
        make_inputs=make_inputs,
    )


def vae_factor(config) -> int:
    """Image pixels per latent pixel: one stride-2 downsampler per encoder block but the last (8 for SD)."""
    return 2 ** (len(_config_get(config, "block_out_channels")) - 1)


def vae_decoder_component(vae: torch.nn.Module) -> Component:
    device, dtype = _module_device_dtype(vae)
    latent_channels = _config_get(vae.config, "latent_channels")

    def make_inputs(batch: int, height: int, width: int, seed: int):
        return (_randn((batch, latent_channels, height, width), _generator(seed), device, dtype),)

    return Component(
        name="vae_decoder",
        module=VaeDecoder(vae).eval(),
        input_names=["latent_sample"],
        output_names=["sample"],
        dynamic_axes={
            "latent_sample": {0: "batch", 2: "height", 3: "width"},
            "sample": {0: "batch", 2: "image_height", 3: "image_width"},
        },
        make_inputs=make_inputs,
    )


def vae_encoder_component(vae: torch.nn.Module) -> Component:
    device, dtype = _module_device_dtype(vae)
    in_channels = _config_get(vae.config, "in_channels")
    factor = vae_factor(vae.config)

    def make_inputs(batch: int, height: int, width: int, seed: int):
        shape = (batch, in_channels, factor * height, factor * width)
        image = torch.rand(shape, generator=_generator(seed)) * 2 - 1
        return (image.to(device, dtype),)

    return Component(
        name="vae_encoder",
        module=VaeEncoderParameters(vae).eval(),
        input_names=["sample"],
        output_names=["latent_parameters"],
        dynamic_axes={
            "sample": {0: "batch", 2: "image_height", 3: "image_width"},
            "latent_parameters": {0: "batch", 2: "height", 3: "width"},
        },
        make_inputs=make_inputs,
    )


class SafetyCheckerEmbeds(torch.nn.Module):
    """diffusers' StableDiffusionSafetyChecker up to its image embeddings (the learned part):
    clip_input -> visual_projection(vision_model(clip_input).pooler_output). The cosine rule runs in the server."""

    def __init__(self, checker: torch.nn.Module):
        super().__init__()
        self.vision_model = checker.vision_model
        self.visual_projection = checker.visual_projection

    def forward(self, clip_input):
        return self.visual_projection(self.vision_model(clip_input)[1])


def safety_checker_component(checker: torch.nn.Module) -> Component:
    device, dtype = _module_device_dtype(checker)
    size = _config_get(checker.config.vision_config, "image_size", 224)

    def make_inputs(batch: int, _height: int, _width: int, seed: int):
        return (_randn((batch, 3, size, size), _generator(seed), device, dtype),)

    return Component(
        name="safety_checker",
        module=SafetyCheckerEmbeds(checker).eval(),
        input_names=["clip_input"],
        output_names=["image_embeds"],
        dynamic_axes={"clip_input": {0: "batch"}, "image_embeds": {0: "batch"}},
        make_inputs=make_inputs,
    )


def safety_concepts(checker: torch.nn.Module) -> Dict[str, object]:
    """The checker's fixed embeddings and thresholds (float32 values, as JSON numbers)."""
    names = ("concept_embeds", "concept_embeds_weights", "special_care_embeds", "special_care_embeds_weights")
    return {name: getattr(checker, name).detach().float().cpu().tolist() for name in names}


def load_safety_checker(source: str) -> torch.nn.Module:
    """A StableDiffusionSafetyChecker from a hub id or folder: its own (config.json + weights) or a diffusers
    pipeline's safety_checker/ subfolder."""
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker

    path = Path(source).expanduser()
    if path.is_dir():
        if (path / "safety_checker").is_dir():
            return StableDiffusionSafetyChecker.from_pretrained(str(path), subfolder="safety_checker")
        return StableDiffusionSafetyChecker.from_pretrained(str(path))
    try:
        return StableDiffusionSafetyChecker.from_pretrained(source)
    except (OSError, EnvironmentError):
        return StableDiffusionSafetyChecker.from_pretrained(source, subfolder="safety_checker")


def text_encoder_component(text_encoder: torch.nn.Module, name: str = "text_encoder") -> Component:
    device, _ = _module_device_dtype(text_encoder)
    config = text_encoder.config
    vocab = _config_get(config, "vocab_size")
    layers = _config_get(config, "num_hidden_layers")
    hidden = [f"hidden_states.{i}" for i in range(layers + 1)] + [f"normed_hidden_states.{i}" for i in range(layers + 1)]
    pooled = ["text_embeds", "last_hidden_state"] if has_text_projection(text_encoder) else [
        "last_hidden_state",
        "pooler_output",
    ]

    def make_inputs(batch: int, _height: int, _width: int, seed: int):
        ids = torch.randint(0, vocab, (batch, TEXT_LENGTH), generator=_generator(seed), dtype=torch.int64)
        return (ids.to(device=device, dtype=torch.int32),)

    axes = {"input_ids": {0: "batch"}}
    axes.update({output: {0: "batch"} for output in pooled + hidden})
    return Component(
        name=name,
        module=TextEncoderWithHiddenStates(text_encoder).eval(),
        input_names=["input_ids"],
        output_names=[*pooled, *hidden],
        dynamic_axes=axes,
        make_inputs=make_inputs,
    )


# ------------------------------------------------------------------------------------------------ ONNX export


def _initializer_bytes(model) -> int:
    total = sum(len(t.raw_data) for t in model.graph.initializer)
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                total += len(attr.t.raw_data)
    return total


def _torch_export(module: torch.nn.Module, inputs, path: Path, component: Component, opset: int) -> None:
    kwargs = dict(
        export_params=True,
        opset_version=opset,
        do_constant_folding=True,
        input_names=component.input_names,
        output_names=component.output_names,
        dynamic_axes=component.dynamic_axes,
    )
    # torch >= 2.9 defaults to the dynamo exporter; these wrappers are written for the TorchScript tracer.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about python bools/ints from shapes are expected
        torch.onnx.export(module, tuple(inputs), str(path), **kwargs)


def export_component(component: Component, out_dir: Path, opset: int = 17) -> Path:
    """Trace component.module and write out_dir/model.onnx (+ model.onnx_data when the weights pass 2 GB)."""
    import onnx

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "model.onnx"
    for stale in (target, out_dir / EXTERNAL_DATA_FILE):
        stale.unlink(missing_ok=True)
    batch, height, width = TRACE_SHAPE
    inputs = component.make_inputs(batch, height, width, 0)
    # torch writes one file per tensor when a graph passes 2 GB: export to a scratch folder on the same disk,
    # then re-save as model.onnx with at most one data file.
    with tempfile.TemporaryDirectory(prefix=".export-", dir=out_dir) as scratch:
        scratch_path = Path(scratch) / "model.onnx"
        with torch.no_grad():
            _torch_export(component.module, inputs, scratch_path, component, opset)
        model = onnx.load(str(scratch_path), load_external_data=True)
        if _initializer_bytes(model) > EXTERNAL_DATA_LIMIT:
            onnx.save_model(
                model,
                str(target),
                save_as_external_data=True,
                all_tensors_to_one_file=True,
                location=EXTERNAL_DATA_FILE,
                size_threshold=1024,
                convert_attribute=False,
            )
        else:
            onnx.save_model(model, str(target))
        names = weight_name_map(component.module, model)
        del model
    if names:
        write_json(out_dir / WEIGHT_NAMES_FILE, names)
    onnx.checker.check_model(str(target))
    return target


WEIGHT_NAMES_FILE = "weight_names.json"


def weight_name_map(module: torch.nn.Module, model) -> Dict[str, str]:
    """{"<module path>.weight": "<initializer>"} for the Linear and Conv layers whose weight the exporter renamed
    (`onnx::MatMul_1234`, stored transposed): found by identical bytes, as stored or transposed. The server's LoRA
    merge reads it beside model.onnx (it wins over matching by node names). Ambiguous bytes are left out."""
    import hashlib

    by_digest: Dict[bytes, List[str]] = {}
    for t in model.graph.initializer:
        if t.raw_data:
            by_digest.setdefault(hashlib.sha1(t.raw_data).digest(), []).append(t.name)
    names: Dict[str, str] = {}
    for path, layer in module.named_modules():
        if not isinstance(layer, (torch.nn.Linear, torch.nn.Conv2d)) or layer.weight is None:
            continue
        w = layer.weight.detach().cpu()
        candidates = [w] + ([w.t()] if w.dim() == 2 else [])
        found = set()
        for c in candidates:
            digest = hashlib.sha1(c.contiguous().numpy().tobytes()).digest()
            found.update(by_digest.get(digest, []))
        if len(found) == 1:
            name = found.pop()
            if name != f"{path}.weight":
                names[f"{path}.weight"] = name
    counts: Dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    return {k: v for k, v in names.items() if counts[v] == 1}


def graph_size(path: Path) -> int:
    data = path.parent / EXTERNAL_DATA_FILE
    return path.stat().st_size + (data.stat().st_size if data.exists() else 0)


# ------------------------------------------------------------------------------------------------- validation


def onnxruntime_providers(device: str) -> List[str]:
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device == "cuda" and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def _to_numpy(t: torch.Tensor):
    return t.detach().cpu().numpy()


def torch_outputs(component: Component, inputs: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    with torch.no_grad():
        out = component.module(*inputs)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def validate_component(
    component: Component,
    path: Path,
    providers: List[str],
    shape: Tuple[int, int, int] = VALIDATE_SHAPE,
    seed: int = 1,
) -> Dict[str, float]:
    """Run the graph once with onnxruntime on random inputs (at a shape other than the traced one) and return
    max |onnx - torch| per output."""
    import numpy as np
    import onnxruntime as ort

    # An fp32 reference, not TF32 (torch's cuDNN default on Ampere and later).
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    inputs = component.make_inputs(*shape, seed)
    expected = torch_outputs(component, inputs)
    session = ort.InferenceSession(str(path), providers=providers)
    feeds = {name: _to_numpy(t) for name, t in zip(component.input_names, inputs)}
    actual = session.run(component.output_names, feeds)
    diffs = {}
    for name, got, want in zip(component.output_names, actual, expected):
        want_np = _to_numpy(want).astype(np.float32)
        got_np = np.asarray(got).astype(np.float32)
        if got_np.shape != want_np.shape:
            raise RuntimeError(f"{component.name}: {name} has shape {got_np.shape}, torch gives {want_np.shape}")
        diffs[name] = float(np.max(np.abs(got_np - want_np))) if want_np.size else 0.0
        scale = float(np.max(np.abs(want_np))) if want_np.size else 0.0
        print(f"    {name:<24} max|diff| {diffs[name]:.3e}   max|torch| {scale:.3e}")
    return diffs


# -------------------------------------------------------------------------------------------- loading sources


@dataclass
class BaseModel:
    unet: torch.nn.Module
    vae: torch.nn.Module
    text_encoder: Optional[torch.nn.Module]
    tokenizer: Optional[object]
    scheduler_config: Dict[str, object]
    # SDXL: CLIPTextModelWithProjection and its tokenizer (pads with "!"), and the pipeline's own settings from
    # model_index.json (force_zeros_for_empty_prompt).
    text_encoder_2: Optional[torch.nn.Module] = None
    tokenizer_2: Optional[object] = None
    pipeline_config: Optional[Dict[str, object]] = None

    @property
    def sdxl(self) -> bool:
        return is_text_time(self.unet.config)


def _clean_config(config: Dict[str, object]) -> Dict[str, object]:
    """A config as its file had it: no keys diffusers filled with defaults, no private bookkeeping keys."""
    defaults = set(config.get("_use_default_values", []) or [])
    keep_private = {"_class_name", "_diffusers_version"}
    return {k: v for k, v in config.items() if k not in defaults and (not k.startswith("_") or k in keep_private)}


def _load_clip_text_encoder(source: str, with_projection: bool = False, **kwargs):
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    cls = CLIPTextModelWithProjection if with_projection else CLIPTextModel
    # Eager attention traces to plain MatMul/Softmax on every torch version; the text encoder runs once a job.
    try:
        return cls.from_pretrained(source, attn_implementation="eager", **kwargs)
    except TypeError:
        return cls.from_pretrained(source, **kwargs)


def _pipeline_index(source: str) -> Dict[str, object]:
    """model_index.json of a diffusers folder or hub id ({} when there is none)."""
    from diffusers import DiffusionPipeline

    try:
        return dict(DiffusionPipeline.load_config(source))
    except (OSError, ValueError, EnvironmentError):
        return {}


def _has_component(index: Dict[str, object], name: str, default: bool) -> bool:
    entry = index.get(name)
    if entry is None:
        return default
    return isinstance(entry, (list, tuple)) and len(entry) == 2 and entry[0] is not None


def load_diffusers_model(source: str) -> BaseModel:
    """A diffusers folder or hub id with unet/, vae/, text_encoder/, tokenizer/, scheduler/ (SD 1.x), plus
    text_encoder_2/ and tokenizer_2/ for SDXL (the refiner has only the second encoder)."""
    from diffusers import AutoencoderKL, PNDMScheduler, UNet2DConditionModel
    from transformers import CLIPTokenizer

    index = _pipeline_index(source)
    unet = UNet2DConditionModel.from_pretrained(source, subfolder="unet")
    sdxl = is_text_time(unet.config)
    first = _has_component(index, "text_encoder", True)
    second = sdxl and _has_component(index, "text_encoder_2", True)
    settings = {k: v for k, v in index.items() if not k.startswith("_") and not isinstance(v, (list, tuple))}
    return BaseModel(
        unet=unet,
        vae=AutoencoderKL.from_pretrained(source, subfolder="vae"),
        text_encoder=_load_clip_text_encoder(source, subfolder="text_encoder") if first else None,
        tokenizer=CLIPTokenizer.from_pretrained(source, subfolder="tokenizer") if first else None,
        # The file as it is (load_config reads it without filling defaults; any scheduler class reads any file).
        scheduler_config=_clean_config(PNDMScheduler.load_config(source, subfolder="scheduler")),
        text_encoder_2=_load_clip_text_encoder(source, True, subfolder="text_encoder_2") if second else None,
        tokenizer_2=CLIPTokenizer.from_pretrained(source, subfolder="tokenizer_2") if second else None,
        pipeline_config=settings,
    )


def load_checkpoint_model(path: str) -> BaseModel:
    """A single .safetensors/.ckpt file (original Stable Diffusion layout), via diffusers' from_single_file."""
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_single_file(path, safety_checker=None)
    # from_single_file builds a DDIM config with an explicit timestep_spacing; write SD 1.5's own instead.
    prediction = _config_get(pipe.scheduler.config, "prediction_type", "epsilon")
    if prediction != "epsilon":
        print(f"warning: checkpoint predicts {prediction!r}; the server targets epsilon-prediction SD 1.x models")
    return BaseModel(
        unet=pipe.unet,
        vae=pipe.vae,
        text_encoder=pipe.text_encoder,
        tokenizer=pipe.tokenizer,
        scheduler_config=dict(SD15_SCHEDULER_CONFIG),
    )


@dataclass
class ControlNetSource:
    name: str
    source: str
    subfolder: Optional[str] = None
    single_file: bool = False


_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _safe_name(name: str, what: str) -> str:
    if not _NAME_RE.match(name):
        raise SystemExit(f"error: {what} {name!r} must match {_NAME_RE.pattern}")
    return name


def parse_controlnet_arg(arg: str) -> ControlNetSource:
    """`canny` (contract name), `NAME=SOURCE`, or SOURCE alone: a hub id (owner/repo[/subfolder]), a diffusers
    folder, or a single .safetensors/.pth/.ckpt file."""
    name, source = arg.split("=", 1) if "=" in arg else (None, arg)
    if source in CONTROLNET_HF_IDS:
        name = name or source
        source = CONTROLNET_HF_IDS[source]
    path = Path(source).expanduser()
    if path.is_file():
        return ControlNetSource(_safe_name(name or path.stem, "ControlNet name"), str(path), single_file=True)
    if path.is_dir():
        return ControlNetSource(_safe_name(name or path.name, "ControlNet name"), str(path))
    parts = source.strip("/").split("/")
    if len(parts) < 2:
        known = ", ".join(sorted(CONTROLNET_HF_IDS))
        raise SystemExit(f"error: unknown ControlNet {source!r}: use one of {known}, a hub id or a local path")
    repo, subfolder = "/".join(parts[:2]), "/".join(parts[2:]) or None
    if name is None:
        by_id = {v: k for k, v in CONTROLNET_HF_IDS.items() if k != "hed"}
        name = by_id.get(source.strip("/"), parts[-1])
    return ControlNetSource(_safe_name(name, "ControlNet name"), repo, subfolder)


def load_controlnet(spec: ControlNetSource) -> torch.nn.Module:
    from diffusers import ControlNetModel

    if spec.single_file:
        return ControlNetModel.from_single_file(spec.source)
    if spec.subfolder:
        return ControlNetModel.from_pretrained(spec.source, subfolder=spec.subfolder)
    return ControlNetModel.from_pretrained(spec.source)


# ---------------------------------------------------------------------------------------- tiny random models


def _randomize_zero_parameters(module: torch.nn.Module, gen: torch.Generator) -> None:
    # ControlNet's zero convolutions (and zero biases) would make every residual 0 and the comparison vacuous.
    with torch.no_grad():
        for param in module.parameters():
            if not torch.any(param):
                param.copy_(torch.randn(param.shape, generator=gen) * 0.1)


def build_tiny_random_models(seed: int = 0) -> Tuple[BaseModel, Dict[str, torch.nn.Module]]:
    """SD 1.x-shaped modules with tiny widths: 4 down blocks, 2 layers each (so 12 + 1 residuals), cross
    attention width 32; one plain and one globally pooled (shuffle-like) ControlNet. CLIP only if transformers
    is installed."""
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel

    torch.manual_seed(seed)
    gen = _generator(seed)
    unet = UNet2DConditionModel(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
        block_out_channels=(8, 16, 16, 32),
        layers_per_block=2,
        norm_num_groups=4,
        cross_attention_dim=32,
        attention_head_dim=2,
    )
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(8, 8, 16, 16))
    # from_config drops keys listed in _use_default_values, the override among them: leave that list out.
    pooled_config = {k: v for k, v in controlnet.config.items() if k != "_use_default_values"}
    pooled = ControlNetModel.from_config({**pooled_config, "global_pool_conditions": True})
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 16, 16, 16),
        layers_per_block=2,
        latent_channels=4,
        norm_num_groups=4,
        sample_size=128,
    )
    for module in (unet, controlnet, pooled, vae):
        _randomize_zero_parameters(module, gen)
    text_encoder = None
    try:
        from transformers import CLIPTextConfig, CLIPTextModel

        text_encoder = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=1000,
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=4,
                max_position_embeddings=TEXT_LENGTH,
                attn_implementation="eager",  # as _load_clip_text_encoder asks for
            )
        )
    except ImportError:
        print("transformers not installed: the tiny self-test skips the text encoder")
    base = BaseModel(unet, vae, text_encoder, None, dict(SD15_SCHEDULER_CONFIG))
    return base, {"tiny-random": controlnet, "tiny-random-pooled": pooled}


# ------------------------------------------------------------------------------------------------ side files


def write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")


def model_config(module: torch.nn.Module) -> Dict[str, object]:
    """The module's full config, defaults included (old SD 1.x VAE configs lack scaling_factor)."""
    config = {k: v for k, v in dict(module.config).items() if not k.startswith("_")}
    config["_class_name"] = type(module).__name__
    return json.loads(json.dumps(config, default=str))


def write_tokenizer(tokenizer, folder: Path) -> None:
    """tokenizer_config.json, special_tokens_map.json, vocab.json, merges.txt (+ tokenizer.json from a fast one)."""
    tokenizer.save_pretrained(str(folder))
    # A fast-only tokenizer (transformers 5) may write tokenizer.json alone; the BPE files are the common ground.
    if not (folder / "vocab.json").exists() or not (folder / "merges.txt").exists():
        tokenizer.save_vocabulary(str(folder))


def write_model_index(model_dir: Path, base: BaseModel, info: Dict[str, object]) -> None:
    import diffusers

    def onnx_entry(folder: str):
        return ["diffusers", "OnnxRuntimeModel"] if (model_dir / folder / "model.onnx").exists() else [None, None]

    def tokenizer_entry(tokenizer):
        return ["transformers", "CLIPTokenizer"] if tokenizer is not None else [None, None]

    index = {
        "_class_name": "ORTStableDiffusionXLPipeline" if base.sdxl else "OnnxStableDiffusionPipeline",
        "_diffusers_version": diffusers.__version__,
        "feature_extractor": [None, None],
        "safety_checker": [None, None],
        "requires_safety_checker": False,
        "scheduler": ["diffusers", str(base.scheduler_config.get("_class_name", "PNDMScheduler"))],
        "text_encoder": onnx_entry("text_encoder"),
        "tokenizer": tokenizer_entry(base.tokenizer),
        "unet": onnx_entry("unet"),
        "vae_decoder": onnx_entry("vae_decoder"),
        "vae_encoder": onnx_entry("vae_encoder"),
        # Ours: the UNet takes the ControlNet residuals as inputs (diffusers' ONNX pipeline cannot drive it).
        "_export": info,
    }
    if base.sdxl:
        index.pop("safety_checker")
        index.pop("requires_safety_checker")
        index["text_encoder_2"] = onnx_entry("text_encoder_2")
        index["tokenizer_2"] = tokenizer_entry(base.tokenizer_2)
        # diffusers' SDXL default: an empty negative prompt means zero embeddings, not the encoded "".
        settings = base.pipeline_config or {}
        index["force_zeros_for_empty_prompt"] = bool(settings.get("force_zeros_for_empty_prompt", True))
        index["requires_aesthetics_score"] = bool(settings.get("requires_aesthetics_score", False))
    write_json(model_dir / "model_index.json", index)


# ------------------------------------------------------------------------------------------------------- main


@dataclass
class Result:
    component: str
    path: Path
    size: int
    max_diff: Optional[float]
    note: str = ""


def _human_size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def print_summary(results: Sequence[Result], out: Path) -> None:
    rows = [("component", "file", "size", "max |diff|")]
    for r in results:
        diff = f"{r.max_diff:.2e}" if r.max_diff is not None else (r.note or "-")
        try:
            shown = str(r.path.relative_to(out))
        except ValueError:
            shown = str(r.path)
        rows.append((r.component, shown, _human_size(r.size), diff))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    print()
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def export_and_validate(
    component: Component,
    out_dir: Path,
    opset: int,
    providers: Optional[List[str]],
) -> Result:
    print(f"exporting {component.name} -> {out_dir / 'model.onnx'}")
    path = export_component(component, out_dir, opset)
    size = graph_size(path)
    if providers is None:
        return Result(component.name, path, size, None, "not validated")
    _, dtype = _module_device_dtype(component.module)
    if dtype == torch.float16 and providers == ["CPUExecutionProvider"]:
        return Result(component.name, path, size, None, "fp16: needs CUDAExecutionProvider")
    print(f"  validating {component.name} with {providers[0]} at batch/height/width {VALIDATE_SHAPE}")
    diffs = validate_component(component, path, providers)
    return Result(component.name, path, size, max(diffs.values()) if diffs else 0.0)


def prepare_module(module: torch.nn.Module, device: str, dtype: torch.dtype) -> torch.nn.Module:
    """Move to device/dtype, eval mode, and diffusers' plain attention processor: torch 2's SDPA processor has
    no ONNX symbolic in torch 2.0 and traces differently per version; the plain one gives the same MatMul/Softmax
    graph on every torch."""
    module = module.to(device=device, dtype=dtype).eval()
    set_default = getattr(module, "set_default_attn_processor", None)
    if callable(set_default):
        set_default()
    return module


def _source_label(source: str) -> str:
    path = Path(source).expanduser()
    return path.name if path.exists() else source


def _default_model_id(args) -> str:
    if args.model_id:
        return args.model_id
    if args.tiny_random:
        return "tiny-random"
    source = args.checkpoint or args.model
    name = Path(source).stem if args.checkpoint else source.rstrip("/").split("/")[-1]
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "model"


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", help="diffusers folder or hub id of a Stable Diffusion 1.x model")
    src.add_argument("--checkpoint", help="single .safetensors/.ckpt Stable Diffusion 1.x checkpoint")
    src.add_argument("--tiny-random", action="store_true", help="self-test: export small random modules")
    p.add_argument(
        "--controlnet",
        action="append",
        default=[],
        metavar="NAME_OR_ID",
        help=f"repeatable; a contract name ({', '.join(CONTROLNET_HF_IDS)}), NAME=SOURCE, a hub id "
        "(owner/repo[/subfolder]), a diffusers folder or a .safetensors/.pth file",
    )
    p.add_argument("--out", required=True, type=Path, help="models folder to write into")
    p.add_argument("--model-id", help="folder name under --out (default: from the model name)")
    p.add_argument(
        "--controlnet-dir",
        choices=("shared", "model"),
        default="shared",
        help="write ControlNets to <out>/controlnet/<name> (shared, the default) or <out>/<model_id>/controlnet/<name>"
        " (only for this model, e.g. SDXL ControlNets next to an SD 1.5 set)",
    )
    p.add_argument(
        "--safety-checker",
        nargs="?",
        const="CompVis/stable-diffusion-safety-checker",
        metavar="SOURCE",
        help="export the SD safety checker (hub id or folder; default CompVis/stable-diffusion-safety-checker)",
    )
    p.add_argument(
        "--safety-checker-dir",
        choices=("shared", "model"),
        default="shared",
        help="write it to <out>/safety_checker (shared, the default) or <out>/<model_id>/safety_checker",
    )
    p.add_argument("--fp16", action="store_true", help="float16 UNet, ControlNets, text encoder (VAE stays fp32)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17, at least 17)")
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--no-validate", dest="validate", action="store_false", help="skip the onnxruntime check")
    args = p.parse_args(argv)
    if not (args.model or args.checkpoint or args.tiny_random or args.controlnet or args.safety_checker):
        p.error("nothing to export: give --model, --checkpoint, --tiny-random, --controlnet and/or --safety-checker")
    if args.opset < 17:
        p.error("--opset must be at least 17 (LayerNormalization, and what the server is tested with)")
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: torch sees no CUDA device (use --device cpu)")
    if args.fp16 and args.device != "cuda":
        p.error("--fp16 traces the models in float16, which needs --device cuda (torch's CPU lacks fp16 kernels)")
    if args.model_id:
        _safe_name(args.model_id, "--model-id")
    if args.safety_checker_dir == "model" and not (args.model or args.checkpoint or args.tiny_random or args.model_id):
        p.error("--safety-checker-dir model needs the model (--model/--checkpoint) or --model-id")
    if args.controlnet_dir == "model" and not (args.model or args.checkpoint or args.tiny_random or args.model_id):
        p.error("--controlnet-dir model needs the model (--model/--checkpoint) or --model-id")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    providers = None
    if args.validate:
        try:
            providers = onnxruntime_providers(args.device)
        except ImportError:
            print("error: validation needs onnxruntime (pip install onnxruntime-gpu), or pass --no-validate")
            return 2
    dtype = torch.float16 if args.fp16 else torch.float32
    controlnet_specs = [parse_controlnet_arg(a) for a in args.controlnet]
    out: Path = args.out
    results: List[Result] = []

    base: Optional[BaseModel] = None
    tiny_controlnets: Dict[str, torch.nn.Module] = {}
    if args.tiny_random:
        base, tiny_controlnets = build_tiny_random_models()
    elif args.model:
        base = load_diffusers_model(args.model)
    elif args.checkpoint:
        base = load_checkpoint_model(args.checkpoint)

    if base is not None:
        model_dir = out / _default_model_id(args)
        components = [unet_component(prepare_module(base.unet, args.device, dtype))]
        # The VAE stays float32 even with --fp16 (see the header).
        components.append(vae_decoder_component(prepare_module(base.vae, args.device, torch.float32)))
        components.append(vae_encoder_component(base.vae))
        if base.text_encoder is not None:
            components.append(text_encoder_component(prepare_module(base.text_encoder, args.device, dtype)))
        if base.text_encoder_2 is not None:
            encoder_2 = prepare_module(base.text_encoder_2, args.device, dtype)
            components.append(text_encoder_component(encoder_2, "text_encoder_2"))
        for component in components:
            results.append(export_and_validate(component, model_dir / component.name, args.opset, providers))
        write_json(model_dir / "unet" / "config.json", model_config(base.unet))
        for folder in ("vae_decoder", "vae_encoder"):
            write_json(model_dir / folder / "config.json", model_config(base.vae))
        for folder, encoder in (("text_encoder", base.text_encoder), ("text_encoder_2", base.text_encoder_2)):
            if encoder is not None:
                encoder.config.to_json_file(str(model_dir / folder / "config.json"))
        for folder, tokenizer in (("tokenizer", base.tokenizer), ("tokenizer_2", base.tokenizer_2)):
            if tokenizer is not None:
                write_tokenizer(tokenizer, model_dir / folder)
        write_json(model_dir / "scheduler" / "scheduler_config.json", base.scheduler_config)
        write_model_index(
            model_dir,
            base,
            {
                "exporter": "scripts/export_onnx.py",
                # A hub id as given; a local folder or file by its name only (no local paths in shared files).
                "source": _source_label(args.model or args.checkpoint or "tiny-random"),
                "fp16": args.fp16,
                "opset": args.opset,
                "dtypes": {c.name: str(_module_device_dtype(c.module)[1]).replace("torch.", "") for c in components},
                "unet_residual_inputs": len(residual_names(base.unet.config)),
                "family": "sdxl" if base.sdxl else "sd",
            },
        )
        del base, components

    cn_items: List[Tuple[str, Callable[[], torch.nn.Module]]] = [
        (name, (lambda m=module: m)) for name, module in tiny_controlnets.items()
    ]
    cn_items += [(spec.name, (lambda s=spec: load_controlnet(s))) for spec in controlnet_specs]
    for name, load in cn_items:
        controlnet = prepare_module(load(), args.device, dtype)
        cn_root = out / _default_model_id(args) if args.controlnet_dir == "model" else out
        cn_dir = cn_root / "controlnet" / name
        results.append(export_and_validate(controlnet_component(controlnet, name), cn_dir, args.opset, providers))
        write_json(cn_dir / "config.json", model_config(controlnet))
        del controlnet
        if args.device == "cuda":
            torch.cuda.empty_cache()

    if args.safety_checker:
        # float32 always: the verdict compares cosines with thresholds to 3 decimals.
        checker = prepare_module(load_safety_checker(args.safety_checker), args.device, torch.float32)
        sc_root = out / _default_model_id(args) if args.safety_checker_dir == "model" else out
        sc_dir = sc_root / "safety_checker"
        results.append(export_and_validate(safety_checker_component(checker), sc_dir, args.opset, providers))
        write_json(sc_dir / "concepts.json", safety_concepts(checker))
        del checker

    print_summary(results, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""CLIPVisionModel / CLIPVisionConfig / CLIPConfig with transformers 4.38's module names and semantics, for the SD
safety checker (diffusers' StableDiffusionSafetyChecker: `vision_model` = CLIPVisionModel, then its own
`visual_projection`): vision_model.embeddings.{class_embedding, patch_embedding (bias-free conv, stride = patch),
position_embedding}, vision_model.pre_layrnorm (transformers' spelling), vision_model.encoder.layers.N (the text
model's layers, no mask), vision_model.post_layernorm; pooled output = post_layernorm(last_hidden_state[:, 0])."""

from __future__ import annotations

import torch
from torch import nn

from .modeling_clip import (
    BaseModelOutputWithPooling,
    CLIPEncoder,
    CLIPTextConfig,
    PretrainedConfig,
    PreTrainedModel,
)


class CLIPVisionConfig(PretrainedConfig):
    model_type = "clip_vision_model"

    def __init__(
        self,
        hidden_size=768,
        intermediate_size=3072,
        projection_dim=512,
        num_hidden_layers=12,
        num_attention_heads=12,
        num_channels=3,
        image_size=224,
        patch_size=32,
        hidden_act="quick_gelu",
        layer_norm_eps=1e-5,
        attention_dropout=0.0,
        initializer_range=0.02,
        initializer_factor=1.0,
        **kwargs,
    ):
        kwargs.pop("attn_implementation", None)
        super().__init__(
            hidden_size=hidden_size,
            intermediate_size=intermediate_size,
            projection_dim=projection_dim,
            num_hidden_layers=num_hidden_layers,
            num_attention_heads=num_attention_heads,
            num_channels=num_channels,
            image_size=image_size,
            patch_size=patch_size,
            hidden_act=hidden_act,
            layer_norm_eps=layer_norm_eps,
            attention_dropout=attention_dropout,
            initializer_range=initializer_range,
            initializer_factor=initializer_factor,
            **kwargs,
        )


class CLIPConfig(PretrainedConfig):
    """text_config / vision_config as dicts (also the legacy text_config_dict / vision_config_dict of older files,
    such as CompVis/stable-diffusion-safety-checker's)."""

    model_type = "clip"

    def __init__(self, text_config=None, vision_config=None, projection_dim=512, logit_scale_init_value=2.6592, **kwargs):
        text_dict = kwargs.pop("text_config_dict", None) or text_config or {}
        vision_dict = kwargs.pop("vision_config_dict", None) or vision_config or {}
        super().__init__(projection_dim=projection_dim, logit_scale_init_value=logit_scale_init_value, **kwargs)
        self.text_config = text_dict if isinstance(text_dict, CLIPTextConfig) else CLIPTextConfig(**_plain(text_dict))
        self.vision_config = vision_dict if isinstance(vision_dict, CLIPVisionConfig) else CLIPVisionConfig(**_plain(vision_dict))

    def to_dict(self):
        out = super().to_dict()
        out["text_config"] = self.text_config.to_dict()
        out["vision_config"] = self.vision_config.to_dict()
        return out


def _plain(d):
    """A sub-config dict without the keys every config file carries (and transformers' many generation defaults)."""
    known = set(CLIPVisionConfig().__dict__) | set(CLIPTextConfig().__dict__)
    return {k: v for k, v in dict(d).items() if k in known}


class CLIPVisionEmbeddings(nn.Module):
    def __init__(self, config: CLIPVisionConfig):
        super().__init__()
        self.embed_dim = config.hidden_size
        self.class_embedding = nn.Parameter(torch.randn(self.embed_dim))
        self.patch_embedding = nn.Conv2d(
            config.num_channels, self.embed_dim, kernel_size=config.patch_size, stride=config.patch_size, bias=False
        )
        self.num_patches = (config.image_size // config.patch_size) ** 2
        self.num_positions = self.num_patches + 1
        self.position_embedding = nn.Embedding(self.num_positions, self.embed_dim)
        self.register_buffer("position_ids", torch.arange(self.num_positions).expand((1, -1)), persistent=False)

    def forward(self, pixel_values):
        batch = pixel_values.shape[0]
        patches = self.patch_embedding(pixel_values.to(dtype=self.patch_embedding.weight.dtype))
        patches = patches.flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(batch, 1, -1)
        return torch.cat([cls, patches], dim=1) + self.position_embedding(self.position_ids)


class CLIPVisionTransformer(nn.Module):
    def __init__(self, config: CLIPVisionConfig):
        super().__init__()
        self.config = config
        self.embeddings = CLIPVisionEmbeddings(config)
        self.pre_layrnorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.encoder = CLIPEncoder(config)
        self.post_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, pixel_values, output_hidden_states: bool = False):
        hidden = self.pre_layrnorm(self.embeddings(pixel_values))
        states = [hidden]
        for layer in self.encoder.layers:
            hidden = layer(hidden, 0.0)  # no attention mask in the vision tower
            states.append(hidden)
        pooled = self.post_layernorm(hidden[:, 0, :])
        return hidden, pooled, (tuple(states) if output_hidden_states else None)


class CLIPVisionModel(PreTrainedModel):
    config_class = CLIPVisionConfig
    main_input_name = "pixel_values"

    def __init__(self, config: CLIPVisionConfig):
        super().__init__(config)
        self.vision_model = CLIPVisionTransformer(config)
        self.post_init()

    def _init_weights(self, module):
        # transformers' CLIPPreTrainedModel._init_weights for the vision embeddings; the rest as the text model's.
        cfg = self.config
        factor = cfg.initializer_factor
        if isinstance(module, CLIPVisionEmbeddings):
            nn.init.normal_(module.class_embedding, mean=0.0, std=module.embed_dim**-0.5 * factor)
            nn.init.normal_(module.patch_embedding.weight, std=cfg.initializer_range * factor)
            nn.init.normal_(module.position_embedding.weight, std=cfg.initializer_range * factor)
            return
        super()._init_weights(module)

    def forward(self, pixel_values=None, output_attentions=None, output_hidden_states=None, return_dict=None):
        last, pooled, states = self.vision_model(pixel_values, bool(output_hidden_states))
        out = BaseModelOutputWithPooling(last_hidden_state=last, pooler_output=pooled, hidden_states=states)
        return out if return_dict is not False else out.to_tuple()

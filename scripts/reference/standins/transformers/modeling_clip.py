"""CLIPTextModel / CLIPTextModelWithProjection with transformers 4.38's module names and semantics:
text_model.embeddings.{token_embedding,position_embedding}, text_model.encoder.layers.N.{self_attn.{q,k,v,out}_proj,
layer_norm1, mlp.{fc1,fc2}, layer_norm2}, text_model.final_layer_norm, text_projection (bias-free); causal mask,
quick_gelu / gelu, hidden_states = (embeddings, layer 1 .. N) before the final norm, pooled = last_hidden_state at
the EOS token (argmax of the ids when eos_token_id is the legacy 2, else the first eos_token_id)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
from torch import nn

from .utils import CONFIG_NAME, SAFE_WEIGHTS_NAME, WEIGHTS_NAME


class PretrainedConfig:
    model_type = ""

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            setattr(self, k, v)

    def to_dict(self):
        out = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        out["model_type"] = self.model_type
        out["transformers_version"] = "4.38.2"
        return out

    def to_json_string(self):
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def to_json_file(self, path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json_string())

    def save_pretrained(self, folder):
        os.makedirs(folder, exist_ok=True)
        self.to_json_file(os.path.join(folder, CONFIG_NAME))

    @classmethod
    def from_pretrained(cls, folder, subfolder: Optional[str] = None, **kwargs):
        path = os.path.join(folder, subfolder or "", CONFIG_NAME)
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        for k in ("model_type", "transformers_version", "architectures", "_name_or_path", "torch_dtype"):
            data.pop(k, None)
        data.update({k: v for k, v in kwargs.items() if k in ("attn_implementation",)})
        return cls(**data)


class CLIPTextConfig(PretrainedConfig):
    model_type = "clip_text_model"

    def __init__(
        self,
        vocab_size=49408,
        hidden_size=512,
        intermediate_size=2048,
        projection_dim=512,
        num_hidden_layers=12,
        num_attention_heads=8,
        max_position_embeddings=77,
        hidden_act="quick_gelu",
        layer_norm_eps=1e-5,
        attention_dropout=0.0,
        initializer_range=0.02,
        initializer_factor=1.0,
        pad_token_id=1,
        bos_token_id=49406,
        eos_token_id=49407,
        **kwargs,
    ):
        kwargs.pop("attn_implementation", None)
        super().__init__(
            vocab_size=vocab_size,
            hidden_size=hidden_size,
            intermediate_size=intermediate_size,
            projection_dim=projection_dim,
            num_hidden_layers=num_hidden_layers,
            num_attention_heads=num_attention_heads,
            max_position_embeddings=max_position_embeddings,
            hidden_act=hidden_act,
            layer_norm_eps=layer_norm_eps,
            attention_dropout=attention_dropout,
            initializer_range=initializer_range,
            initializer_factor=initializer_factor,
            pad_token_id=pad_token_id,
            bos_token_id=bos_token_id,
            eos_token_id=eos_token_id,
            **kwargs,
        )


class _ModelOutput:
    """transformers' ModelOutput in short: attributes, and integer indexing over the fields that are not None."""

    _fields: Tuple[str, ...] = ()

    def to_tuple(self):
        return tuple(getattr(self, f) for f in self._fields if getattr(self, f) is not None)

    def __getitem__(self, key):
        if isinstance(key, str):
            return getattr(self, key)
        return self.to_tuple()[key]

    def __iter__(self):
        return iter(self.to_tuple())

    def __len__(self):
        return len(self.to_tuple())


@dataclass
class BaseModelOutputWithPooling(_ModelOutput):
    last_hidden_state: torch.Tensor = None
    pooler_output: torch.Tensor = None
    hidden_states: Optional[Tuple[torch.Tensor, ...]] = None
    attentions: Optional[Tuple[torch.Tensor, ...]] = None
    _fields = ("last_hidden_state", "pooler_output", "hidden_states", "attentions")


@dataclass
class CLIPTextModelOutput(_ModelOutput):
    text_embeds: torch.Tensor = None
    last_hidden_state: torch.Tensor = None
    hidden_states: Optional[Tuple[torch.Tensor, ...]] = None
    attentions: Optional[Tuple[torch.Tensor, ...]] = None
    _fields = ("text_embeds", "last_hidden_state", "hidden_states", "attentions")


def _activation(name: str):
    if name == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)
    if name == "gelu":
        return nn.functional.gelu
    raise ValueError(f"hidden_act {name!r} is not supported by the stand-in")


class CLIPTextEmbeddings(nn.Module):
    def __init__(self, config: CLIPTextConfig):
        super().__init__()
        self.token_embedding = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embedding = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.register_buffer(
            "position_ids", torch.arange(config.max_position_embeddings).expand((1, -1)), persistent=False
        )

    def forward(self, input_ids):
        seq = input_ids.shape[-1]
        return self.token_embedding(input_ids) + self.position_embedding(self.position_ids[:, :seq])


class CLIPAttention(nn.Module):
    def __init__(self, config: CLIPTextConfig):
        super().__init__()
        self.embed_dim = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_dim = self.embed_dim // self.num_heads
        self.scale = self.head_dim**-0.5
        self.k_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.v_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.q_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.out_proj = nn.Linear(self.embed_dim, self.embed_dim)

    def _shape(self, t, seq, bsz):
        return t.view(bsz, seq, self.num_heads, self.head_dim).transpose(1, 2).contiguous()

    def forward(self, hidden_states, causal_attention_mask):
        bsz, tgt_len, embed_dim = hidden_states.size()
        query = self.q_proj(hidden_states) * self.scale
        key = self._shape(self.k_proj(hidden_states), -1, bsz)
        value = self._shape(self.v_proj(hidden_states), -1, bsz)
        proj_shape = (bsz * self.num_heads, -1, self.head_dim)
        query = self._shape(query, tgt_len, bsz).view(*proj_shape)
        key = key.view(*proj_shape)
        value = value.view(*proj_shape)
        src_len = key.size(1)
        weights = torch.bmm(query, key.transpose(1, 2))
        weights = weights.view(bsz, self.num_heads, tgt_len, src_len) + causal_attention_mask
        weights = weights.view(bsz * self.num_heads, tgt_len, src_len)
        weights = nn.functional.softmax(weights, dim=-1)
        out = torch.bmm(weights, value)
        out = out.view(bsz, self.num_heads, tgt_len, self.head_dim).transpose(1, 2)
        out = out.reshape(bsz, tgt_len, embed_dim)
        return self.out_proj(out)


class CLIPMLP(nn.Module):
    def __init__(self, config: CLIPTextConfig):
        super().__init__()
        self.activation_fn = _activation(config.hidden_act)
        self.fc1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.fc2 = nn.Linear(config.intermediate_size, config.hidden_size)

    def forward(self, x):
        return self.fc2(self.activation_fn(self.fc1(x)))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, config: CLIPTextConfig):
        super().__init__()
        self.self_attn = CLIPAttention(config)
        self.layer_norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = CLIPMLP(config)
        self.layer_norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states, causal_attention_mask):
        residual = hidden_states
        hidden_states = residual + self.self_attn(self.layer_norm1(hidden_states), causal_attention_mask)
        residual = hidden_states
        return residual + self.mlp(self.layer_norm2(hidden_states))


class CLIPEncoder(nn.Module):
    def __init__(self, config: CLIPTextConfig):
        super().__init__()
        self.layers = nn.ModuleList([CLIPEncoderLayer(config) for _ in range(config.num_hidden_layers)])


def _causal_mask(bsz: int, seq: int, dtype, device):
    # transformers' _create_4d_causal_attention_mask: the dtype's minimum above the diagonal, 0 elsewhere.
    mask = torch.full((seq, seq), torch.finfo(dtype).min, dtype=dtype, device=device).triu(1)
    return mask[None, None, :, :].expand(bsz, 1, seq, seq)


class CLIPTextTransformer(nn.Module):
    def __init__(self, config: CLIPTextConfig):
        super().__init__()
        self.config = config
        self.embeddings = CLIPTextEmbeddings(config)
        self.encoder = CLIPEncoder(config)
        self.final_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.eos_token_id = config.eos_token_id

    def forward(self, input_ids, output_hidden_states: bool = False):
        input_ids = input_ids.view(-1, input_ids.shape[-1])
        hidden = self.embeddings(input_ids)
        mask = _causal_mask(input_ids.shape[0], input_ids.shape[1], hidden.dtype, hidden.device)
        states = [hidden]
        for layer in self.encoder.layers:
            hidden = layer(hidden, mask)
            states.append(hidden)
        last = self.final_layer_norm(hidden)
        rows = torch.arange(last.shape[0], device=last.device)
        if self.eos_token_id == 2:
            # Legacy configs (eos_token_id 2): the EOS token has the highest id of the vocabulary.
            eos_index = input_ids.to(dtype=torch.int, device=last.device).argmax(dim=-1)
        else:
            eos_index = (input_ids.to(dtype=torch.int, device=last.device) == self.eos_token_id).int().argmax(dim=-1)
        pooled = last[rows, eos_index]
        return last, pooled, (tuple(states) if output_hidden_states else None)


class PreTrainedModel(nn.Module):
    config_class = CLIPTextConfig
    main_input_name = "input_ids"

    def __init__(self, config):
        super().__init__()
        self.config = config

    @property
    def dtype(self):
        return next(self.parameters()).dtype

    @property
    def device(self):
        return next(self.parameters()).device

    def _init_weights(self, module):
        # transformers' CLIPPreTrainedModel._init_weights (factor 1).
        cfg = self.config
        factor = cfg.initializer_factor
        if isinstance(module, CLIPTextEmbeddings):
            nn.init.normal_(module.token_embedding.weight, mean=0.0, std=factor * 0.02)
            nn.init.normal_(module.position_embedding.weight, mean=0.0, std=factor * 0.02)
        elif isinstance(module, CLIPAttention):
            in_std = (module.embed_dim**-0.5) * ((2 * cfg.num_hidden_layers) ** -0.5) * factor
            out_std = (module.embed_dim**-0.5) * factor
            for lin in (module.q_proj, module.k_proj, module.v_proj):
                nn.init.normal_(lin.weight, std=in_std)
            nn.init.normal_(module.out_proj.weight, std=out_std)
        elif isinstance(module, CLIPMLP):
            in_std = (cfg.hidden_size**-0.5) * ((2 * cfg.num_hidden_layers) ** -0.5) * factor
            fc_std = (2 * cfg.hidden_size) ** -0.5 * factor
            nn.init.normal_(module.fc1.weight, std=fc_std)
            nn.init.normal_(module.fc2.weight, std=in_std)
        elif isinstance(module, CLIPTextModelWithProjection):
            nn.init.normal_(module.text_projection.weight, std=cfg.hidden_size**-0.5 * factor)
        if isinstance(module, nn.LayerNorm):
            module.bias.data.zero_()
            module.weight.data.fill_(1.0)
        if isinstance(module, nn.Linear) and module.bias is not None:
            module.bias.data.zero_()

    def post_init(self):
        self.apply(self._init_weights)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.text_model.embeddings.token_embedding

    def resize_token_embeddings(self, new_num_tokens: int) -> nn.Embedding:
        """transformers' resize_token_embeddings: a new table of new_num_tokens rows (initialised as _init_weights
        does), the old rows copied in, config.vocab_size updated."""
        old = self.get_input_embeddings()
        new = nn.Embedding(new_num_tokens, old.embedding_dim, dtype=old.weight.dtype, device=old.weight.device)
        nn.init.normal_(new.weight, mean=0.0, std=self.config.initializer_factor * 0.02)
        n = min(new_num_tokens, old.num_embeddings)
        with torch.no_grad():
            new.weight[:n] = old.weight[:n]
        self.text_model.embeddings.token_embedding = new
        self.config.vocab_size = new_num_tokens
        return new

    def save_pretrained(self, folder, safe_serialization: bool = True, **kwargs):
        os.makedirs(folder, exist_ok=True)
        config = self.config.to_dict()
        config["architectures"] = [type(self).__name__]
        config["torch_dtype"] = str(self.dtype).replace("torch.", "")
        with open(os.path.join(folder, CONFIG_NAME), "w", encoding="utf-8") as f:
            f.write(json.dumps(config, indent=2, sort_keys=True) + "\n")
        state = {k: v.contiguous() for k, v in self.state_dict().items()}
        if safe_serialization:
            from safetensors.torch import save_file

            save_file(state, os.path.join(folder, SAFE_WEIGHTS_NAME), metadata={"format": "pt"})
        else:
            torch.save(state, os.path.join(folder, WEIGHTS_NAME))

    @classmethod
    def from_pretrained(cls, folder, subfolder: Optional[str] = None, torch_dtype=None, **kwargs):
        root = os.path.join(folder, subfolder or "")
        config = cls.config_class.from_pretrained(root)
        model = cls(config)
        safe = os.path.join(root, SAFE_WEIGHTS_NAME)
        if os.path.exists(safe):
            from safetensors.torch import load_file

            state = load_file(safe)
        else:
            state = torch.load(os.path.join(root, WEIGHTS_NAME), map_location="cpu")
        for key in [k for k in state if k.endswith("embeddings.position_ids")]:
            state.pop(key)  # persistent in transformers < 4.31
        model.load_state_dict(state, strict=True)
        if torch_dtype is not None:
            model = model.to(torch_dtype)
        return model.eval()


class CLIPTextModel(PreTrainedModel):
    def __init__(self, config: CLIPTextConfig):
        super().__init__(config)
        self.text_model = CLIPTextTransformer(config)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, output_attentions=None,
                output_hidden_states=None, return_dict=None):
        last, pooled, states = self.text_model(input_ids, bool(output_hidden_states))
        out = BaseModelOutputWithPooling(last_hidden_state=last, pooler_output=pooled, hidden_states=states)
        return out if return_dict is not False else out.to_tuple()


class CLIPTextModelWithProjection(PreTrainedModel):
    def __init__(self, config: CLIPTextConfig):
        super().__init__(config)
        self.text_model = CLIPTextTransformer(config)
        self.text_projection = nn.Linear(config.hidden_size, config.projection_dim, bias=False)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, output_attentions=None,
                output_hidden_states=None, return_dict=None):
        last, pooled, states = self.text_model(input_ids, bool(output_hidden_states))
        out = CLIPTextModelOutput(text_embeds=self.text_projection(pooled), last_hidden_state=last,
                                  hidden_states=states)
        return out if return_dict is not False else out.to_tuple()

"""Stand-in for Hugging Face transformers (CLIP text models, tokenizer, and the CLIP vision tower of the SD safety
checker); see ../README.md.

Module, parameter and output names follow transformers 4.38 (modeling_clip.py, tokenization_clip.py), so
state dicts and config.json files are interchangeable with the real library's for CLIPTextModel and
CLIPTextModelWithProjection."""

__version__ = "4.38.2"

from .modeling_clip import (  # noqa: E402
    BaseModelOutputWithPooling,
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelOutput,
    CLIPTextModelWithProjection,
    PretrainedConfig,
    PreTrainedModel,
)
from .modeling_clip_vision import CLIPConfig, CLIPVisionConfig, CLIPVisionModel  # noqa: E402
from .tokenization_clip import CLIPTokenizer, PreTrainedTokenizer, PreTrainedTokenizerFast  # noqa: E402


class _Unavailable:
    """Names diffusers imports at module level but the ControlNet pipelines only use when given (image encoders,
    feature extractors for the safety checker / IP-Adapter)."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} is not part of the transformers stand-in")

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        raise NotImplementedError(f"{cls.__name__} is not part of the transformers stand-in")


def __getattr__(name: str):
    """Other classes diffusers names at import time (safety checker, image encoders, feature extractors): they
    exist so the imports succeed, and fail when used."""
    if name[:1].isupper():
        cls = type(name, (_Unavailable,), {})
        globals()[name] = cls
        return cls
    raise AttributeError(name)

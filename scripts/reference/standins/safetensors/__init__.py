"""Stand-in for the `safetensors` package (pure Python, torch only); see scripts/reference/standins/README.md.

The format: an 8-byte little-endian header length N, N bytes of JSON header
({name: {"dtype", "shape", "data_offsets": [begin, end]}, optional "__metadata__": {str: str}}), then the raw
little-endian tensor bytes; offsets are relative to the end of the header."""

__version__ = "0.4.2"

from . import torch  # noqa: F401,E402  (diffusers reads safetensors.torch after `import safetensors`)
from .torch import safe_open  # noqa: E402,F401

"""safetensors.torch stand-in: load_file, save_file, load, save and safe_open over the documented file format."""

from __future__ import annotations

import json
import struct
from typing import Dict, Optional

import torch

_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def _parse(data: bytes):
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", None)
    return header, metadata, 8 + n


def _tensor(info, data: bytes, base: int) -> torch.Tensor:
    begin, end = info["data_offsets"]
    dtype = _DTYPES[info["dtype"]]
    raw = bytearray(data[base + begin : base + end])
    if len(raw) == 0:
        return torch.empty(info["shape"], dtype=dtype)
    flat = torch.frombuffer(raw, dtype=dtype)
    return flat.reshape(info["shape"]).clone()


def load(data: bytes, device: str = "cpu") -> Dict[str, torch.Tensor]:
    header, _, base = _parse(data)
    return {k: _tensor(v, data, base).to(device) for k, v in header.items()}


def load_file(filename, device="cpu") -> Dict[str, torch.Tensor]:
    with open(filename, "rb") as f:
        return load(f.read(), device=device)


def save(tensors: Dict[str, torch.Tensor], metadata: Optional[Dict[str, str]] = None) -> bytes:
    header: Dict[str, object] = {}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)  # the reference writer pads the header to 8 bytes
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def save_file(tensors: Dict[str, torch.Tensor], filename, metadata: Optional[Dict[str, str]] = None) -> None:
    with open(filename, "wb") as f:
        f.write(save(tensors, metadata))


class safe_open:  # noqa: N801  (the library's name)
    def __init__(self, filename, framework: str = "pt", device: str = "cpu"):
        with open(filename, "rb") as f:
            self._data = f.read()
        self._header, self._metadata, self._base = _parse(self._data)
        self._device = device

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def keys(self):
        return list(self._header)

    def metadata(self):
        return self._metadata

    def get_tensor(self, name: str) -> torch.Tensor:
        return _tensor(self._header[name], self._data, self._base).to(self._device)


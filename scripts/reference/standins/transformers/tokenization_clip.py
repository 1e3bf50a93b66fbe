"""CLIPTokenizer stand-in: CLIP's byte-level BPE over vocab.json + merges.txt with transformers 4.38's call
interface (padding "max_length"/"longest", truncation, return_tensors="pt", pad_token from tokenizer_config.json:
`<|endoftext|>` for SD 1.x, `!` for SDXL's tokenizer_2). Text is normalised as CLIPTokenizerFast does (NFC,
whitespace runs to one space, lowercase); the slow tokenizer's ftfy/BasicTokenizer clean-up differs only on
unusual text. Added tokens (`add_tokens`, what diffusers' load_textual_inversion uses) follow transformers 4.38's
PreTrainedTokenizer: ids from len(tokenizer) on, cut out of the raw text before the rest is normalised and split
(its Trie.split: the leftmost match, the longest there; case-sensitive)."""

from __future__ import annotations

import json
import os
import unicodedata
from functools import lru_cache
from typing import Dict, List, Optional, Union

import regex
import torch

VOCAB_FILES = {"vocab_file": "vocab.json", "merges_file": "merges.txt"}
_PATTERN = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE,
)


@lru_cache()
def bytes_to_unicode() -> Dict[int, str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def _pairs(word):
    return {(a, b) for a, b in zip(word, word[1:])}


class BatchEncoding(dict):
    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(name) from e


class PreTrainedTokenizer:
    pass


class PreTrainedTokenizerFast(PreTrainedTokenizer):
    pass


class CLIPTokenizer(PreTrainedTokenizer):
    vocab_files_names = VOCAB_FILES
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(
        self,
        vocab_file: str,
        merges_file: str,
        errors: str = "replace",
        unk_token: str = "<|endoftext|>",
        bos_token: str = "<|startoftext|>",
        eos_token: str = "<|endoftext|>",
        pad_token: str = "<|endoftext|>",
        model_max_length: int = 77,
        **kwargs,
    ):
        with open(vocab_file, encoding="utf-8") as f:
            self.encoder: Dict[str, int] = json.load(f)
        self.decoder = {v: k for k, v in self.encoder.items()}
        with open(merges_file, encoding="utf-8") as f:
            merges = f.read().strip().split("\n")[1 : 49152 - 256 - 2 + 1]
        self._merges = merges
        self.bpe_ranks = {tuple(m.split()): i for i, m in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {v: k for k, v in self.byte_encoder.items()}
        self.errors = errors
        self.unk_token, self.bos_token, self.eos_token, self.pad_token = unk_token, bos_token, eos_token, pad_token
        self.model_max_length = int(model_max_length)
        self.added_tokens_encoder: Dict[str, int] = {}
        self.cache = {bos_token: bos_token, eos_token: eos_token}
        self.init_kwargs = dict(kwargs)

    # ------------------------------------------------------------------------------------------------ ids
    @property
    def vocab_size(self) -> int:
        return len(self.encoder)

    def __len__(self) -> int:
        return len(self.encoder) + sum(1 for t in self.added_tokens_encoder if t not in self.encoder)

    def get_vocab(self):
        return {**self.encoder, **self.added_tokens_encoder}

    def _id(self, token: str) -> int:
        if token in self.added_tokens_encoder:
            return self.added_tokens_encoder[token]
        return self.encoder.get(token, self.encoder.get(self.unk_token))

    @property
    def added_tokens_decoder(self) -> Dict[int, str]:
        return {i: t for t, i in self.added_tokens_encoder.items()}

    def add_tokens(self, new_tokens, special_tokens: bool = False) -> int:
        """transformers' add_tokens: each new token (not in the vocabulary nor added yet) gets the id len(self)."""
        if isinstance(new_tokens, str):
            new_tokens = [new_tokens]
        added = 0
        for token in new_tokens:
            token = getattr(token, "content", token)
            if token in self.encoder or token in self.added_tokens_encoder:
                continue
            self.added_tokens_encoder[token] = len(self)
            added += 1
        return added

    def _split_added(self, text: str) -> List[str]:
        """Trie.split over the added tokens: pieces of text, added tokens as pieces of their own."""
        if not self.added_tokens_encoder:
            return [text]
        tokens = sorted(self.added_tokens_encoder, key=len, reverse=True)
        pieces: List[str] = []
        start = i = 0
        while i < len(text):
            match = next((t for t in tokens if text.startswith(t, i)), None)
            if match is None:
                i += 1
                continue
            if i > start:
                pieces.append(text[start:i])
            pieces.append(match)
            i += len(match)
            start = i
        if start < len(text):
            pieces.append(text[start:])
        return pieces

    @property
    def bos_token_id(self) -> int:
        return self._id(self.bos_token)

    @property
    def eos_token_id(self) -> int:
        return self._id(self.eos_token)

    @property
    def pad_token_id(self) -> int:
        return self._id(self.pad_token)

    @property
    def unk_token_id(self) -> int:
        return self._id(self.unk_token)

    # ---------------------------------------------------------------------------------------------- BPE
    def bpe(self, token: str) -> str:
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        pairs = _pairs(word)
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=lambda p: self.bpe_ranks.get(p, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word: List[str] = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = _pairs(word)
        out = " ".join(word)
        self.cache[token] = out
        return out

    @staticmethod
    def _normalize(text: str) -> str:
        return regex.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip().lower()

    def tokenize(self, text: str) -> List[str]:
        tokens: List[str] = []
        for piece in self._split_added(text):
            if piece in self.added_tokens_encoder:
                tokens.append(piece)
            else:
                tokens.extend(self._tokenize(piece))
        return tokens

    def _tokenize(self, text: str) -> List[str]:
        tokens: List[str] = []
        for token in _PATTERN.findall(self._normalize(text)):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            tokens.extend(self.bpe(token).split(" "))
        return tokens

    def convert_tokens_to_ids(self, tokens):
        if isinstance(tokens, str):
            return self._id(tokens)
        return [self._id(t) for t in tokens]

    def convert_ids_to_tokens(self, ids):
        added = self.added_tokens_decoder
        if isinstance(ids, int):
            return added.get(ids) or self.decoder.get(ids, self.unk_token)
        return [added.get(int(i)) or self.decoder.get(int(i), self.unk_token) for i in ids]

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        tokens = self.convert_ids_to_tokens(list(ids))
        if skip_special_tokens:
            tokens = [t for t in tokens if t not in (self.bos_token, self.eos_token, self.pad_token)]
        # Added tokens stand as words of their own (transformers' spaces_between_special_tokens).
        parts: List[str] = []
        run: List[str] = []
        for t in tokens + [None]:
            if t is None or t in self.added_tokens_encoder:
                if run:
                    raw = bytearray(self.byte_decoder[c] for c in "".join(run) if c in self.byte_decoder)
                    parts.append(raw.decode("utf-8", errors=self.errors).replace("</w>", " ").strip())
                    run = []
                if t is not None:
                    parts.append(t)
            else:
                run.append(t)
        return " ".join(p for p in parts if p)

    def batch_decode(self, sequences, skip_special_tokens: bool = False) -> List[str]:
        return [self.decode(s, skip_special_tokens) for s in sequences]

    # --------------------------------------------------------------------------------------------- call
    def _encode_one(self, text: str, truncation: bool, max_length: Optional[int]) -> List[int]:
        ids = self.convert_tokens_to_ids(self.tokenize(text))
        if truncation and max_length is not None:
            ids = ids[: max(max_length - 2, 0)]
        return [self.bos_token_id, *ids, self.eos_token_id]

    def __call__(
        self,
        text: Union[str, List[str]],
        padding: Union[bool, str] = False,
        truncation: Union[bool, str] = False,
        max_length: Optional[int] = None,
        return_tensors: Optional[str] = None,
        **kwargs,
    ) -> BatchEncoding:
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        if truncation and max_length is None:
            max_length = self.model_max_length
        rows = [self._encode_one(t, bool(truncation), max_length) for t in texts]
        if padding == "max_length":
            target = max_length if max_length is not None else self.model_max_length
        elif padding in (True, "longest"):
            target = max(len(r) for r in rows)
        else:
            target = None
        masks = [[1] * len(r) for r in rows]
        if target is not None:
            for r, m in zip(rows, masks):
                extra = max(target - len(r), 0)
                r.extend([self.pad_token_id] * extra)
                m.extend([0] * extra)
        if return_tensors == "pt":
            return BatchEncoding(input_ids=torch.tensor(rows, dtype=torch.long), attention_mask=torch.tensor(masks))
        if single:
            return BatchEncoding(input_ids=rows[0], attention_mask=masks[0])
        return BatchEncoding(input_ids=rows, attention_mask=masks)

    # ------------------------------------------------------------------------------------------- files
    def save_pretrained(self, folder: str, **kwargs):
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(self.encoder, ensure_ascii=False) + "\n")
        with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n" + "\n".join(self._merges) + "\n")
        specials = {"bos_token": self.bos_token, "eos_token": self.eos_token, "unk_token": self.unk_token,
                    "pad_token": self.pad_token}
        config = {"tokenizer_class": "CLIPTokenizer", "model_max_length": self.model_max_length,
                  "do_lower_case": True, "errors": self.errors, **specials}
        for name, value in (("tokenizer_config.json", config), ("special_tokens_map.json", specials)):
            with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
                f.write(json.dumps(value, indent=2, sort_keys=True) + "\n")
        return folder

    def save_vocabulary(self, folder: str, filename_prefix: Optional[str] = None):
        self.save_pretrained(folder)
        return os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt")

    @classmethod
    def from_pretrained(cls, folder: str, subfolder: Optional[str] = None, **kwargs):
        root = os.path.join(folder, subfolder or "")
        config: Dict[str, object] = {}
        path = os.path.join(root, "tokenizer_config.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                config = json.load(f)
        for key in ("bos_token", "eos_token", "unk_token", "pad_token"):
            value = config.get(key)
            if isinstance(value, dict):  # AddedToken form
                config[key] = value.get("content")
        keep = {k: config[k] for k in ("bos_token", "eos_token", "unk_token", "pad_token", "errors") if k in config}
        if "model_max_length" in config:
            keep["model_max_length"] = config["model_max_length"]
        return cls(os.path.join(root, "vocab.json"), os.path.join(root, "merges.txt"), **keep)
